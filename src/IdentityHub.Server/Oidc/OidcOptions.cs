namespace IdentityHub.Server.Oidc;

/// <summary>Section "Oidc": the provider's protocol settings. Defaults are stated on each property.</summary>
public sealed class OidcOptions
{
    public const string Section = "Oidc";

    /// <summary>
    /// The issuer (https://id.example.gov.cn/). Required outside Development so that every node of a
    /// cluster issues the same <c>iss</c>; in Development it is taken from the request.
    /// </summary>
    public Uri? Issuer { get; set; }

    /// <summary>RS256 (default) or ES256: the algorithm of ID tokens, access tokens and logout tokens.</summary>
    public string SigningAlgorithm { get; set; } = "RS256";

    /// <summary>
    /// Signing certificates (PKCS#12 files with passwords). All are published in JWKS; among those
    /// of <see cref="SigningAlgorithm"/> that are currently valid, the one that expires last signs.
    /// A new certificate whose NotBefore lies in the future is therefore published before it signs.
    /// </summary>
    public List<CertificateOptions> SigningCertificates { get; set; } = [];

    /// <summary>Encryption certificates (for tokens only the server reads, such as authorization codes).</summary>
    public List<CertificateOptions> EncryptionCertificates { get; set; } = [];

    /// <summary>
    /// Development only: where development certificates are created on first start if absent.
    /// Relative to the content root. Default: "../../certs-dev" (the repository's certs-dev/).
    /// </summary>
    public string DevelopmentCertificateDirectory { get; set; } = "../../certs-dev";

    /// <summary>Audience of access tokens when the client names no resource (RFC 9068 section 3). Default "identityhub".</summary>
    public string DefaultAudience { get; set; } = "identityhub";

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    public TimeSpan IdentityTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromMinutes(2);

    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>
    /// How long a login performed for a <c>prompt=login</c> or <c>max_age</c> request, or a consent given for a
    /// <c>prompt=consent</c> request, counts as fresh for that very request. Default 5 minutes.
    /// </summary>
    public TimeSpan ForcedLoginWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Redeemed and expired tokens and authorizations older than this are pruned. Default 7 days.</summary>
    public TimeSpan PruneAfter { get; set; } = TimeSpan.FromDays(7);
}

public sealed class CertificateOptions
{
    /// <summary>Path of a PKCS#12 (.pfx) file; relative paths are resolved against the content root.</summary>
    public string Path { get; set; } = "";

    public string? Password { get; set; }
}
