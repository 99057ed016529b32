namespace IdentityHub.Server.Sessions;

/// <summary>Section "Sessions": server-side SSO sessions and logout notices. Defaults are stated on each property.</summary>
public sealed class SessionOptions
{
    public const string Section = "Sessions";

    /// <summary>A session without any request from its browser for this long has ended. Default 8 hours.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>A session ends this long after the person signed in, however active. Default 12 hours.</summary>
    public TimeSpan AbsoluteTimeout { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// Last activity is written at most this often per session (one UPDATE, not one per request). The idle
    /// timeout is therefore exact to within this value. Default 1 minute.
    /// </summary>
    public TimeSpan ActivityResolution { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Ended and expired sessions, and finished logout notices, are deleted this long afterwards (audit events stay). Default 30 days.</summary>
    public TimeSpan RetainFor { get; set; } = TimeSpan.FromDays(30);

    public BackChannelOptions BackChannel { get; set; } = new();
}

/// <summary>Section "Sessions:BackChannel": delivery of OpenID Connect Back-Channel Logout 1.0 logout tokens.</summary>
public sealed class BackChannelOptions
{
    /// <summary>How often the queue is read when nothing wakes it (a logout wakes it at once). Default 5 seconds.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Delay before the first retry; each further retry waits twice as long. Default 10 seconds.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between two attempts. Default 1 hour.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A notice not delivered after this many attempts is abandoned (and audited). Default 30 (about a day with the defaults).</summary>
    public int MaxAttempts { get; set; } = 30;

    /// <summary>Timeout of one delivery POST. Default 10 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Lifetime (exp - iat) of a logout token. A new token is signed for every attempt, so a department app that
    /// was down still receives a fresh one. Default 2 minutes (Back-Channel Logout 1.0 section 2.4 suggests a short one).
    /// </summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Notices handled per pass. Default 20.</summary>
    public int BatchSize { get; set; } = 20;
}
