using System.ComponentModel.DataAnnotations;

namespace IdentityHub.Server.Verification;

/// <summary>Which adapter class speaks to a provider.</summary>
public enum AdapterType
{
    PublicSecurity,
    Carrier,
    BusinessRegistry,
}

/// <summary>Section "Verification": the city's authorities and the limits around them. Defaults are stated on each property.</summary>
public sealed class VerificationOptions
{
    public const string Section = "Verification";

    /// <summary>
    /// trust_framework of verified_claims (OpenID Identity Assurance section 5.1): the URI of the city's
    /// real-name rules. Default "https://id.city.gov.cn/trust-framework/real-name".
    /// </summary>
    public string TrustFramework { get; set; } = "https://id.city.gov.cn/trust-framework/real-name";

    /// <summary>The provider that checks a person (name + ID number). Default "public-security".</summary>
    public string PersonProvider { get; set; } = "public-security";

    /// <summary>The provider that checks an enterprise. Default "business-registry".</summary>
    public string EnterpriseProvider { get; set; } = "business-registry";

    /// <summary>The authorities, by provider name.</summary>
    public Dictionary<string, AuthorityOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long a match is reused without a new (billed) call. Default 7 days.</summary>
    public TimeSpan MatchCacheLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a mismatch or not-found is reused: long enough to slow guessing, short enough to fix a typo. Default 10 minutes.</summary>
    public TimeSpan NegativeCacheLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Checks one account may ask for per <see cref="AttemptWindow"/>. Default 5.</summary>
    [Range(1, 1000)]
    public int MaxAttemptsPerAccount { get; set; } = 5;

    /// <summary>Default 24 hours.</summary>
    public TimeSpan AttemptWindow { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>One authority API as a city contracted it.</summary>
public sealed class AuthorityOptions
{
    public AdapterType Adapter { get; set; }

    /// <summary>Base URL of the authority's API; without it the provider answers Unsupported.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The city's account at the authority.</summary>
    public string? ClientId { get; set; }

    /// <summary>The credential sent with every call (X-Api-Key). Keep it out of appsettings in production.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Per call. Default 3 seconds (two-element and business answers take under 1 s; set 5 s for carriers).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Retries after a timeout or provider error, with the same idempotency key. Default 2.</summary>
    [Range(0, 5)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Wait before retry n: n times this. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Consecutive timeouts or provider errors that open the circuit. Default 5.</summary>
    [Range(1, 1000)]
    public int BreakAfterFailures { get; set; } = 5;

    /// <summary>How long an open circuit refuses calls before one trial call. Default 30 seconds.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Another provider asked when this one cannot answer (open circuit, timeout, error, rate limit). Optional.</summary>
    public string? Fallback { get; set; }
}
