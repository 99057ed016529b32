namespace IdentityHub.Server.Audit;

// The identity events, each written by the flow that causes it. Personal data appears as internal
// account ids and claim names only.

/// <summary>Password (and later second factor) accepted; a new SSO session began.</summary>
public sealed record SignInSucceeded(string UserId, string? Client, string? Department, string Session, IReadOnlyList<string> Methods)
    : AuditRecord(UserId, Department, null, null)
{
    public override string EventType => "signin.succeeded";

    public override string TargetType => "user";

    public override string? SubjectId => UserId;

    public override string? ClientId => Client;

    public override string? SessionId => Session;

    public override object? Data => new { methods = Methods };
}

/// <summary>
/// A refused sign-in. <paramref name="Why"/>: unknown_account (no subject: the typed name is not kept, it may
/// be a password typed in the wrong field), invalid_password, locked_out, not_allowed, passkey_failed (an assertion
/// that did not verify); with an SMS code or a second factor: invalid_code, code_expired, too_many_attempts.
/// <paramref name="Method"/> names the factor that failed (sms, totp, recovery, password) where it is not the
/// password form; <paramref name="StepUp"/> marks a second factor asked of an existing session.
/// </summary>
public sealed record SignInFailed(string? UserId, string Why, string? Client, string? Department, string? Method = null, bool StepUp = false)
    : AuditRecord(UserId ?? "unknown", Department, null, null)
{
    public override object? Data => Method is null ? null : new { method = Method, stepUp = StepUp };

    public override string EventType => "signin.failed";

    public override string TargetType => "user";

    public override string Outcome => AuditOutcomes.Failure;

    public override string? Reason => Why;

    public override string? SubjectId => UserId;

    public override string? ClientId => Client;
}

/// <summary>The SSO session ended: by the person (sign-out page) or by a department app (RP-initiated logout).</summary>
public sealed record SignedOut(string UserId, string? Session, string? Client, string? Department, string InitiatedBy)
    : AuditRecord(UserId, Department, null, null)
{
    public override string EventType => "signout.completed";

    public override string TargetType => "user";

    public override string? SubjectId => UserId;

    public override string? ClientId => Client;

    public override string? SessionId => Session;

    public override object? Data => new { initiatedBy = InitiatedBy };
}

/// <summary>Tokens issued at the token endpoint (token.issued), or on a refresh grant (token.refreshed).</summary>
public sealed record TokensIssued(bool Refreshed, string Client, string? Department, string? UserId, string? Session, string GrantType,
    IReadOnlyList<string> Tokens, IReadOnlyList<string> Scopes, IReadOnlyDictionary<string, string> TokenIds)
    : AuditRecord(Client, Department, null, null)
{
    public override string EventType => Refreshed ? "token.refreshed" : "token.issued";

    public override string TargetType => "client";

    public override string? SubjectId => UserId;

    public override string? ClientId => Client;

    public override string? SessionId => Session;

    public override object? Data => new { grantType = GrantType, tokens = Tokens, scopes = Scopes, tokenIds = TokenIds };

    /// <summary>
    /// The text <see cref="AuditLog.Serialize"/> writes for <see cref="Data"/> (web defaults, relaxed escaping, the
    /// dictionary's keys as they are), written directly: every token response waits for this row.
    /// </summary>
    public override string? DataJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Encoder = AuditLog.Json.Encoder }))
        {
            json.WriteStartObject();
            json.WriteString("grantType", GrantType);
            json.WriteStartArray("tokens");
            foreach (var token in Tokens)
            {
                json.WriteStringValue(token);
            }

            json.WriteEndArray();
            json.WriteStartArray("scopes");
            foreach (var scope in Scopes)
            {
                json.WriteStringValue(scope);
            }

            json.WriteEndArray();
            json.WriteStartObject("tokenIds");
            foreach (var (type, id) in TokenIds)
            {
                json.WriteString(type, id);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>A refused token request (RFC 6749 section 5.2 error code as reason).</summary>
public sealed record TokenRequestFailed(string? Client, string? Department, string? GrantType, string Error)
    : AuditRecord(Client ?? "unknown", Department, null, null)
{
    public override string EventType => "token.failed";

    public override string TargetType => "client";

    public override string Outcome => AuditOutcomes.Failure;

    public override string? Reason => Error;

    public override string? ClientId => Client;

    // The grant_type as sent, cut: an unauthenticated request chooses it (a form value can be megabytes).
    public override object? Data => new { grantType = AuditColumns.Cut(GrantType, 64) };
}

/// <summary>A token revoked by its client (RFC 7009).</summary>
public sealed record TokenRevoked(string Client, string? Department, string? UserId, string? TokenType, string? TokenId)
    : AuditRecord(TokenId ?? Client, Department, null, null)
{
    public override string EventType => "token.revoked";

    public override string TargetType => "token";

    public override string? SubjectId => UserId;

    public override string? ClientId => Client;

    public override object? Data => new { tokenType = TokenType, tokenId = TokenId };
}

/// <summary>Which claims (names, and which were masked) a department app received about the person, and through what.</summary>
public sealed record ClaimsReleased(string Client, string? Department, string UserId, string? Session, string Via,
    IReadOnlyList<string> Claims, IReadOnlyList<string> Masked)
    : AuditRecord(UserId, Department, null, null)
{
    public override string EventType => "claims.released";

    public override string TargetType => "user";

    public override string? SubjectId => UserId;

    public override string? ClientId => Client;

    public override string? SessionId => Session;

    public override object? Data => new { via = Via, claims = Claims, masked = Masked };
}

/// <summary>An account opened (by a service-hall clerk through the admin API).</summary>
public sealed record AccountCreated(string UserId, object? After) : AuditRecord(UserId, null, null, After)
{
    public override string EventType => "account.created";

    public override string TargetType => "user";

    public override string? SubjectId => UserId;
}

/// <summary>
/// The person reported "this wasn't me": an alert for the security team. <paramref name="SessionsEnded"/> SSO sessions
/// were ended (their tokens revoked, their apps told) and the security stamp renewed.
/// </summary>
public sealed record NotMeReported(string UserId, long? ReportedEventId, int SessionsEnded) : AuditRecord(UserId, null, null, null)
{
    public override string EventType => "account.not_me_reported";

    public override string TargetType => "user";

    public override string? SubjectId => UserId;

    public override object? Data => new { reportedEventId = ReportedEventId, sessionsSignedOut = true, sessionsEnded = SessionsEnded, alert = true };
}

/// <summary>An auditor's own query (events, statistics, verification): auditors are audited too.</summary>
public sealed record AuditQueried(string What, object Filter, int Count) : AuditRecord(What, null, null, null)
{
    public override string EventType => "audit.query";

    public override string TargetType => "audit";

    public override object? Data => new { what = What, filter = Filter, count = Count };
}

/// <summary>An export, with the SHA-256 of exactly the bytes handed out.</summary>
public sealed record AuditExported(string Format, object Filter, int Count, string Sha256) : AuditRecord(Format, null, null, null)
{
    public override string EventType => "audit.export";

    public override string TargetType => "audit";

    public override object? Data => new { format = Format, filter = Filter, count = Count, sha256 = Sha256 };
}

/// <summary>Events past retention archived and removed: the removal itself is an event.</summary>
public sealed record AuditArchived(string ArchiveId, object Summary) : AuditRecord(ArchiveId, null, null, null)
{
    public override string EventType => "audit.archived";

    public override string TargetType => "archive";

    public override object? Data => Summary;
}
