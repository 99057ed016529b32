using System.ComponentModel.DataAnnotations;

namespace IdentityHub.Server.Identity;

/// <summary>Section "Accounts": password and lockout policy. Defaults are stated on each property.</summary>
public sealed class AccountOptions
{
    public const string Section = "Accounts";

    /// <summary>
    /// PBKDF2-HMAC-SHA512 iterations of ASP.NET Core Identity's V3 hash. Default 210,000: OWASP's
    /// Password Storage Cheat Sheet figure for PBKDF2-HMAC-SHA512. Existing hashes are re-hashed at the
    /// next successful sign-in when this grows.
    /// </summary>
    [Range(210_000, 10_000_000)]
    public int PasswordHashIterations { get; set; } = 210_000;

    /// <summary>
    /// How many password hashes (PBKDF2 verifications: sign-in, password change, re-authentication, and the equal-time
    /// hash of an unknown account) run at once; the others wait asynchronously, without holding a thread. A hash is
    /// ~100 ms of one core's CPU, so more at once than there are cores only adds threads, memory and context switches.
    /// Default 0: the number of processors.
    /// </summary>
    [Range(0, 1024)]
    public int PasswordHashConcurrency { get; set; }

    /// <summary>Minimum password length (length over complexity, NIST SP 800-63B section 5.1.1.2). Default 8.</summary>
    [Range(8, 128)]
    public int PasswordMinLength { get; set; } = 8;

    /// <summary>Failed sign-ins before the account is locked. Default 5.</summary>
    [Range(1, 100)]
    public int MaxFailedAccessAttempts { get; set; } = 5;

    /// <summary>How long a lockout lasts. Default 15 minutes.</summary>
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Idle lifetime of the sign-in (SSO) cookie. Default 8 hours, sliding.</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>
    /// How often a sign-in cookie is checked against the account's security stamp, which "this wasn't me" and
    /// password changes renew: a session is signed out at most this long after. Default 1 minute (ASP.NET Core
    /// Identity's own default is 30 minutes); zero checks every request.
    /// </summary>
    public TimeSpan SecurityStampValidationInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Whether the password sign-in reads, with the account, whether it has known devices and its claims and roles (one
    /// round trip instead of three: <see cref="AccountLookup.FindForPasswordSignInAsync"/>; docs/benchmarks.md, "Sign-in,
    /// eleventh session"). Default true; false reads them after the hash, each in its own round trip, as before.
    /// </summary>
    public bool SignInReadsAhead { get; set; } = true;

    /// <summary>
    /// Whether a sign-in that completes (cookie issued, no further step) for a local /connect/authorize return URL answers
    /// that authorization request in the same HTTP request, through the whole pipeline again (<see
    /// cref="Hosting.AuthorizeAfterSignIn"/>), instead of redirecting the browser back to it: one request, one cookie
    /// decryption and one session check fewer per sign-in (docs/benchmarks.md, "Sign-in, twelfth session"). Default true;
    /// false answers the 302 back to /connect/authorize as before.
    /// </summary>
    public bool AnswerAuthorizeAfterSignIn { get; set; } = true;

    /// <summary>
    /// Whether the authorization request answered after a password sign-in (<see cref="AnswerAuthorizeAfterSignIn"/>) takes
    /// the person the sign-in read ahead (<see cref="SignInReadsAhead"/>) instead of reading the account again with its
    /// real-name record and evidence: the read-ahead's one statement then also reads the record (a <c>LEFT JOIN</c> on its
    /// key) and the evidence rows (one more <c>UNION ALL</c> arm of the claim rows), as <c>RealNameQueries.PersonById</c>
    /// would (the same columns, the evidence by id, not tracked), and the account, unchanged in the sign-in's unit of work
    /// since its last save, is handed to the replay as a copy with them, in this request only
    /// (<see cref="AccountLookup.SignedInPerson"/>). One round trip fewer per sign-in, verified person or not
    /// (docs/benchmarks.md, "Sign-in, thirteenth session"). Default true; false reads the person in the replay, and the
    /// read-ahead reads neither record nor evidence, as before (also when <see cref="AnswerAuthorizeAfterSignIn"/> is off:
    /// no replay could take them).
    /// </summary>
    public bool AuthorizeReusesSignInAccount { get; set; } = true;
}
