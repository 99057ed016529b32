using System.ComponentModel.DataAnnotations;

namespace IdentityHub.Server.Factors;

/// <summary>Section "Factors": second factors. Defaults are stated on each property.</summary>
public sealed class FactorOptions
{
    public const string Section = "Factors";

    /// <summary>The issuer an authenticator app shows next to the account (RFC 6238 key URI). Default "IdentityHub".</summary>
    [Required]
    public string TotpIssuer { get; set; } = "IdentityHub";

    /// <summary>Recovery codes made at a time; each is usable once. Default 10.</summary>
    [Range(4, 20)]
    public int RecoveryCodeCount { get; set; } = 10;

    /// <summary>How long a first factor waits for the second before the person must start again. Default 10 minutes.</summary>
    public TimeSpan PendingSignInLifetime { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Section "Sms": one-time codes by SMS and the sender. Defaults are stated on each property.</summary>
public sealed class SmsOptions
{
    public const string Section = "Sms";

    /// <summary>
    /// "Development" (an in-memory outbox, refused outside Development), "HttpGateway" or "None" (nothing
    /// is sent; a warning is logged). Default: "Development" in Development, "None" elsewhere.
    /// </summary>
    public string? Sender { get; set; }

    /// <summary>How long a code is valid. Default 5 minutes.</summary>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Wrong guesses a code survives; then it is dead and a new one must be sent. Default 5.</summary>
    [Range(1, 10)]
    public int MaxAttemptsPerCode { get; set; } = 5;

    /// <summary>Least time between two codes to one number. Default 60 seconds.</summary>
    public TimeSpan ResendInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Codes one number receives per hour at most. Default 5.</summary>
    [Range(1, 1000)]
    public int MaxCodesPerNumberPerHour { get; set; } = 5;

    /// <summary>Also send the security messages (new device, new factor, password change, lockout) by SMS to a confirmed number. Default false.</summary>
    public bool SecurityAlerts { get; set; }

    public HttpGatewayOptions Gateway { get; set; } = new();

    public sealed class HttpGatewayOptions
    {
        /// <summary>The gateway's send URL; it receives POST {"to", "text", "signName"} as JSON.</summary>
        public Uri? Url { get; set; }

        /// <summary>Sent as "Authorization: Bearer ...".</summary>
        public string? ApiKey { get; set; }

        /// <summary>The registered SMS signature. Default "统一身份认证".</summary>
        public string SignName { get; set; } = "统一身份认证";
    }
}
