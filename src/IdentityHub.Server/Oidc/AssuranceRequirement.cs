using System.Globalization;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// The identity assurance level an authorize request needs: the client's minimum (registry) or what
/// acr_values asks for (OIDC Core section 3.1.2.1), whichever is higher. Our acr values for identity
/// assurance are <c>urn:identityhub:ial:L1</c> .. <c>L4</c>; acr_values lists acceptable values, so the
/// lowest listed level is the requirement. Other acr values (login strength, the factors part) are ignored here.
/// </summary>
public static class AssuranceRequirement
{
    public const string AcrPrefix = "urn:identityhub:ial:";

    public static IEnumerable<string> AcrValues =>
        Enumerable.Range(AssuranceLevels.Minimum, AssuranceLevels.Maximum).Select(l => AcrPrefix + AssuranceLevels.Name(l));

    public static int Of(OpenIddictRequest request, ClientPolicy client) =>
        Math.Max(client.MinimumAssuranceLevel, FromAcrValues(request.AcrValues) ?? AssuranceLevels.Minimum);

    public static int? FromAcrValues(string? acrValues)
    {
        var levels = (acrValues ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(v => v.StartsWith(AcrPrefix, StringComparison.Ordinal))
            .Select(v => AssuranceLevels.Parse(v[AcrPrefix.Length..]))
            .OfType<int>()
            .ToList();
        return levels.Count == 0 ? null : levels.Min();
    }

    public static string Describe(int level) => "identity assurance level " + AssuranceLevels.Name(level).ToString(CultureInfo.InvariantCulture);
}
