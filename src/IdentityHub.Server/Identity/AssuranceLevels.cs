namespace IdentityHub.Server.Identity;

/// <summary>
/// Identity assurance levels L1 (self-registered) to L4. The verification issue brings the evidence that
/// raises an account; until then every account is L1, so a client that requires L2 or more gets
/// unmet_authentication_requirements.
/// </summary>
public static class AssuranceLevels
{
    public const int Minimum = 1;

    public const int Maximum = 4;

    public static int Of(ApplicationUser user) => Minimum;

    public static string Name(int level) => "L" + level.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
