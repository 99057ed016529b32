namespace IdentityHub.Server.Identity;

/// <summary>
/// Identity assurance levels (how well we know who the person is; login strength is separate, in amr):
/// L1 account with a proved mobile number; L2 public-security two-element or carrier three-element match;
/// L3 face, bank-card four-element or national network identity; L4 in person at a service hall.
/// </summary>
public static class AssuranceLevels
{
    public const int Minimum = 1;

    public const int Maximum = 4;

    public static int Of(ApplicationUser user) => Math.Clamp(user.AssuranceLevel, Minimum, Maximum);

    public static string Name(int level) => "L" + level.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>"L2" -> 2; null for anything else.</summary>
    public static int? Parse(string? name) =>
        name is ['L', var digit] && digit is >= '1' and <= '4' ? digit - '0' : null;
}
