using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>The scopes IdentityHub knows. A client may only be registered with these.</summary>
public static class HubScopes
{
    /// <summary>Administration API (client credentials of the platform's administration clients).</summary>
    public const string Admin = "identityhub.admin";

    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal)
    {
        Scopes.OpenId,
        Scopes.Profile,
        Scopes.Phone,
        Scopes.Email,
        Scopes.OfflineAccess,
        Admin,
    };
}

/// <summary>Claim types of our own (OIDC Core defines sid, auth_time and amr; we store them in the SSO cookie).</summary>
public static class HubClaims
{
    public const string SessionId = "sid";
    public const string AuthenticationTime = "auth_time";
    public const string AuthenticationMethod = "amr";
}
