using OpenIddict.EntityFrameworkCore.Models;

namespace IdentityHub.Server.Registry;

// OpenIddict's entities, with the registry's additions: every application (client) belongs to a
// department, and carries what OpenIddict has no column for (kind, status, subject type, claim policy,
// back-channel and front-channel logout URIs). A foreign key, rather than a property bag entry, lets "suspend a department"
// stop all its clients with one indexed lookup. String keys are generated here, as OpenIddict's default
// entities do.

public enum ClientKind
{
    /// <summary>Confidential web application: authorization code (+ refresh), client secret or private_key_jwt.</summary>
    Web,

    /// <summary>Public application (SPA or native): authorization code with PKCE, no secret (RFC 8252).</summary>
    Public,

    /// <summary>Machine client: client credentials only (RFC 6749 section 4.4).</summary>
    Machine,
}

public enum ClientStatus
{
    Active,
    Disabled,
}

/// <summary>OIDC Core section 8: public (one sub everywhere) or pairwise (one sub per department sector).</summary>
public enum SubjectType
{
    Public,
    Pairwise,
}

public sealed class HubApplication : OpenIddictEntityFrameworkCoreApplication<string, HubAuthorization, HubToken>
{
    public HubApplication() => Id = Guid.NewGuid().ToString();

    public string? DepartmentId { get; set; }

    public Department? Department { get; set; }

    public ClientKind Kind { get; set; } = ClientKind.Web;

    public ClientStatus Status { get; set; } = ClientStatus.Active;

    public SubjectType SubjectType { get; set; } = SubjectType.Pairwise;

    /// <summary>Claim release policy (JSON, <see cref="ClaimReleasePolicy"/>); null is the default policy.</summary>
    public string? ClaimPolicy { get; set; }

    /// <summary>Minimum identity assurance level (1-4) a person must have reached to sign in to this client.</summary>
    public int MinimumAssuranceLevel { get; set; } = 1;

    /// <summary>Every sign-in to this client must be multi-factor (acr <c>urn:identityhub:acr:mfa</c>): a single-factor session steps up.</summary>
    public bool RequireMultiFactor { get; set; }

    /// <summary>OIDC Back-Channel Logout 1.0 backchannel_logout_uri: stored here, delivered by the sessions part.</summary>
    public string? BackChannelLogoutUri { get; set; }

    /// <summary>OIDC Front-Channel Logout 1.0 frontchannel_logout_uri: loaded in an iframe (with iss and sid) when a session ends.</summary>
    public string? FrontChannelLogoutUri { get; set; }

    public DateTime CreatedAtUtc { get; set; } = DateTime.UtcNow;

    public DateTime UpdatedAtUtc { get; set; } = DateTime.UtcNow;
}

public sealed class HubAuthorization : OpenIddictEntityFrameworkCoreAuthorization<string, HubApplication, HubToken>
{
    public HubAuthorization() => Id = Guid.NewGuid().ToString();
}

public sealed class HubScope : OpenIddictEntityFrameworkCoreScope<string>
{
    public HubScope() => Id = Guid.NewGuid().ToString();
}

public sealed class HubToken : OpenIddictEntityFrameworkCoreToken<string, HubApplication, HubAuthorization>
{
    public HubToken() => Id = Guid.NewGuid().ToString();
}
