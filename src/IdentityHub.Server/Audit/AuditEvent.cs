namespace IdentityHub.Server.Audit;

/// <summary>
/// One row of the append-only AuditEvents table. Rows are only ever added (see
/// <see cref="AppendOnlyAuditInterceptor"/>); retention is the one remover (<see cref="AuditRetention"/>).
/// Each row is a link of its node's hash chain: <see cref="Sequence"/> is its position on node
/// <see cref="NodeId"/>, <see cref="Hash"/> = SHA-256 over its canonical content and <see cref="PreviousHash"/>
/// (<see cref="AuditHash"/>). Personal data is referenced by internal ids only: never an ID number, never a
/// claim value, never a secret.
/// </summary>
public sealed class AuditEvent
{
    public long Id { get; set; }

    /// <summary>Truncated to whole microseconds (PostgreSQL's precision) so that the stored value hashes as written.</summary>
    public DateTime OccurredAtUtc { get; set; } = DateTime.UtcNow;

    /// <summary>First segment of <see cref="EventType"/> ("signin", "token", "registry", ...): the retention class.</summary>
    public string Category { get; set; } = "";

    /// <summary>Stable event type, e.g. "signin.failed", "registry.client.created".</summary>
    public required string EventType { get; set; }

    /// <summary>"success" or "failure" (<see cref="AuditOutcomes"/>).</summary>
    public string Outcome { get; set; } = AuditOutcomes.Success;

    /// <summary>Machine-readable reason of a failure ("invalid_password", "locked_out", an OAuth error code, ...).</summary>
    public string? Reason { get; set; }

    /// <summary>"user", "client" or "system": who acted.</summary>
    public required string ActorKind { get; set; }

    /// <summary>User id, client id, or the name of a server step.</summary>
    public required string ActorId { get; set; }

    public string? ActorName { get; set; }

    /// <summary>The internal account id of the person the event is about (may differ from the actor: an agent acting for someone).</summary>
    public string? SubjectId { get; set; }

    /// <summary>The enterprise (unified social credit code) the actor acted for, where different from the person.</summary>
    public string? EnterpriseId { get; set; }

    /// <summary>The department app involved (client_id).</summary>
    public string? ClientId { get; set; }

    public required string TargetType { get; set; }

    public required string TargetId { get; set; }

    /// <summary>The department the client or target belongs to, so that queries and statistics can be scoped.</summary>
    public string? DepartmentCode { get; set; }

    public string? IpAddress { get; set; }

    public string? UserAgent { get; set; }

    /// <summary>The SSO session (sid) the event belongs to.</summary>
    public string? SessionId { get; set; }

    /// <summary>The request's correlation id (X-Correlation-Id or the W3C trace id).</summary>
    public string? CorrelationId { get; set; }

    /// <summary>JSON of the target before the change; null for a creation.</summary>
    public string? Before { get; set; }

    /// <summary>JSON of the target after the change; null for a deletion.</summary>
    public string? After { get; set; }

    /// <summary>JSON details of the event (claim names released, scopes, token ids, ...): never values of personal claims.</summary>
    public string? Data { get; set; }

    /// <summary>The node whose chain this row belongs to (Audit:NodeId).</summary>
    public string? NodeId { get; set; }

    /// <summary>Position in the node's chain, 1, 2, 3, ... without gaps (retention leaves bridged gaps).</summary>
    public long? Sequence { get; set; }

    /// <summary>Hash of the previous row of the chain (hex), or 64 zeros for the first.</summary>
    public string? PreviousHash { get; set; }

    /// <summary>SHA-256 (hex) of the canonical content and <see cref="PreviousHash"/>.</summary>
    public string? Hash { get; set; }
}

/// <summary>
/// The lengths of the AuditEvents columns (the model's <c>HasMaxLength</c>), and <see cref="Bound"/>, which cuts every
/// field to them before the row is sealed. PostgreSQL refuses an over-long varchar, failing the whole group commit and
/// every request waiting on it, unless the excess is only spaces, which it cuts silently (SQL standard): a row sealed
/// over the longer value would then fail verification, a false tamper alarm. SQLite keeps any length. Cut here, the
/// hash covers exactly what every store keeps. A value comes from a request (a client_id, a forwarded address, a
/// correlation id), so it can be of any length.
/// </summary>
public static class AuditColumns
{
    public const int Category = 32;
    public const int EventType = 100;
    public const int Outcome = 16;
    public const int Reason = 64;
    public const int ActorKind = 20;
    public const int ActorId = 450;
    public const int ActorName = 256;
    public const int SubjectId = 450;
    public const int EnterpriseId = 64;
    public const int ClientId = 200;
    public const int TargetType = 50;
    public const int TargetId = 450;
    public const int DepartmentCode = 32;
    public const int IpAddress = 64;
    public const int UserAgent = 512;
    public const int SessionId = 64;
    public const int CorrelationId = 64;
    public const int NodeId = 64;
    public const int Hash = 64;

    /// <summary>
    /// Cuts every bounded field of a new row to its column (the chain fields are set by the sealer). The JSON fields
    /// (Before, After, Data) are unbounded text, and JSON writes a NUL as an escape.
    /// </summary>
    public static void Bound(AuditEvent e)
    {
        e.Category = Cut(e.Category, Category)!;
        e.EventType = Cut(e.EventType, EventType)!;
        e.Outcome = Cut(e.Outcome, Outcome)!;
        e.Reason = Cut(e.Reason, Reason);
        e.ActorKind = Cut(e.ActorKind, ActorKind)!;
        e.ActorId = Cut(e.ActorId, ActorId)!;
        e.ActorName = Cut(e.ActorName, ActorName);
        e.SubjectId = Cut(e.SubjectId, SubjectId);
        e.EnterpriseId = Cut(e.EnterpriseId, EnterpriseId);
        e.ClientId = Cut(e.ClientId, ClientId);
        e.TargetType = Cut(e.TargetType, TargetType)!;
        e.TargetId = Cut(e.TargetId, TargetId)!;
        e.DepartmentCode = Cut(e.DepartmentCode, DepartmentCode);
        e.IpAddress = Cut(e.IpAddress, IpAddress);
        e.UserAgent = Cut(e.UserAgent, UserAgent);
        e.SessionId = Cut(e.SessionId, SessionId);
        e.CorrelationId = Cut(e.CorrelationId, CorrelationId);
    }

    /// <summary>
    /// At most <paramref name="length"/> UTF-16 units, never half a surrogate pair (which would not survive encoding to
    /// UTF-8). PostgreSQL counts characters (code points), at most one per unit, so the result always fits. A NUL, which
    /// PostgreSQL refuses in text, becomes U+FFFD.
    /// </summary>
    public static string? Cut(string? value, int length)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length > length)
        {
            value = value[..(char.IsHighSurrogate(value[length - 1]) ? length - 1 : length)];
        }

        return value.Contains('\0') ? value.Replace('\0', '\uFFFD') : value;
    }
}

public static class AuditOutcomes
{
    public const string Success = "success";
    public const string Failure = "failure";
}

/// <summary>The head of one node's chain: the last sequence and hash, locked by every append.</summary>
public sealed class AuditChainHead
{
    public required string NodeId { get; set; }

    public long LastSequence { get; set; }

    public required string LastHash { get; set; }

    public DateTime UpdatedAtUtc { get; set; }
}

/// <summary>
/// A run of chain rows removed by retention (archived first): the first row's previous hash and the last row's
/// hash bridge the gap, so that the chain still verifies. Each archive's gaps are hashed into its archive event.
/// </summary>
public sealed class AuditArchiveGap
{
    public long Id { get; set; }

    public required string ArchiveId { get; set; }

    public required string NodeId { get; set; }

    public long FirstSequence { get; set; }

    public long LastSequence { get; set; }

    public required string PreviousHash { get; set; }

    public required string LastHash { get; set; }

    public int Count { get; set; }
}
