using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>The scopes IdentityHub knows. A client may only be registered with these.</summary>
public static class HubScopes
{
    /// <summary>Administration API (client credentials of the platform's administration clients).</summary>
    public const string Admin = "identityhub.admin";

    /// <summary>Identity document claims: ID number, verification level (released only as a client's policy allows).</summary>
    public const string Identity = "identity";

    /// <summary>The enterprise a person acts for (released only as a client's policy allows).</summary>
    public const string Enterprise = "enterprise";

    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal)
    {
        Scopes.OpenId,
        Scopes.Profile,
        Scopes.Phone,
        Scopes.Email,
        Scopes.OfflineAccess,
        Identity,
        Enterprise,
        Admin,
    };
}

/// <summary>Claim types of our own (OIDC Core defines sid, auth_time and amr; we store them in the SSO cookie).</summary>
public static class HubClaims
{
    public const string SessionId = "sid";
    public const string AuthenticationTime = "auth_time";
    public const string AuthenticationMethod = "amr";

    /// <summary>Resident identity card number (GB 11643-1999), released under a client's claim policy.</summary>
    public const string IdNumber = "id_number";

    /// <summary>The identity assurance level the person has reached ("L1" .. "L4").</summary>
    public const string VerificationLevel = "verification_level";

    /// <summary>The enterprise (unified social credit code) the person acts for.</summary>
    public const string Enterprise = "enterprise";
}
