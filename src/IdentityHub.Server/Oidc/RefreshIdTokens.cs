using System.Text.Json;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Whether a refresh of the client's tokens (RFC 6749 section 6) returns a new ID token too. OpenID Connect Core 1.0 section
/// 12.2 lets the response of a refresh request leave the ID token out ("might not contain an id_token"), and by default it
/// does here:
/// <list type="bullet">
/// <item>an ID token records an authentication (section 2); a refresh is none, and the department already holds the ID
/// token of the sign-in (for its session, and as id_token_hint at logout);</item>
/// <item>the ID token carries the personal claims the client's policy releases, among them ID numbers. Sending them again
/// with every refresh, for as long as the grant lives, is more than the "minimum necessary" of the personal information
/// protection law (PIPL, docs/architecture.md); a department that needs them fresh asks userinfo, which releases them
/// under the same policy, and the citizen sees that release (claims.released);</item>
/// <item>one signature less per refresh: a refresh costs about a third less CPU (docs/benchmarks.md).</item>
/// </list>
/// A client whose software expects an ID token with every refresh (Keycloak sends one whenever openid was granted;
/// PingFederate's "Return ID Token On Refresh Grant" is off unless selected; kubectl's OIDC plug-in needs one) is registered
/// with <c>idTokenOnRefresh: true</c> (the admin API and console): its refreshed ID tokens follow section 12.2 (the same
/// iss, sub, aud, azp and auth_time as at sign-in, a new iat). Held in the application's settings, as the signing
/// algorithms are (<see cref="TokenSigning"/>); the migration KeepRefreshIdTokens set it for every authorization-code
/// client registered before it, so that an upgrade took the refresh's ID token from none of them.
/// </summary>
public static class RefreshIdTokens
{
    /// <summary>The application setting ("true") of a client whose refreshes return an ID token.</summary>
    public const string Setting = "hub:id_token_on_refresh";

    /// <summary>Whether the application's settings (OpenIddict's JSON object of strings) opt in.</summary>
    public static bool Of(string? settings)
    {
        if (string.IsNullOrEmpty(settings) || !settings.Contains(Setting, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(settings) is { } values && Of(values);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Whether the application's settings, already read, opt in.</summary>
    public static bool Of(IReadOnlyDictionary<string, string> settings) => settings.GetValueOrDefault(Setting) == "true";
}
