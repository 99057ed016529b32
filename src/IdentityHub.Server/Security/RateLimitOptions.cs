using System.ComponentModel.DataAnnotations;

namespace IdentityHub.Server.Security;

/// <summary>
/// Section "RateLimits". Per-IP limits are generous by default (a city's NAT gateways and the benchmark
/// send many sign-ins from one address); per-account and per-number limits are strict. A refused
/// request gets 429 with Retry-After (RFC 6585 section 4, RFC 9110 section 10.2.3).
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Sign-in form posts (password, SMS, passkey, second factor) per client IP. Default 1,000 a minute.</summary>
    public WindowLimit SignInPerIp { get; set; } = new() { PermitLimit = 1000, Window = TimeSpan.FromMinutes(1) };

    /// <summary>Requests that send an SMS, per client IP. Default 100 per 10 minutes.</summary>
    public WindowLimit SmsPerIp { get; set; } = new() { PermitLimit = 100, Window = TimeSpan.FromMinutes(10) };

    /// <summary>Code and password checks on the account pages, per client IP. Default 300 a minute.</summary>
    public WindowLimit VerifyPerIp { get; set; } = new() { PermitLimit = 300, Window = TimeSpan.FromMinutes(1) };

    /// <summary>Failed sign-ins per account name or number typed, whatever the IP; then every attempt waits. Default 10 a minute.</summary>
    public WindowLimit SignInPerAccount { get; set; } = new() { PermitLimit = 10, Window = TimeSpan.FromMinutes(1) };

    public sealed class WindowLimit
    {
        [Range(1, 1_000_000)]
        public int PermitLimit { get; set; }

        public TimeSpan Window { get; set; }
    }
}
