namespace IdentityHub.Server.Audit;

/// <summary>
/// One row of the append-only AuditEvents table. Rows are only ever added (see
/// <see cref="AppendOnlyAuditInterceptor"/>); the sequence number orders them, so that the audit part can
/// chain their hashes later.
/// </summary>
public sealed class AuditEvent
{
    public long Id { get; set; }

    public DateTime OccurredAtUtc { get; set; } = DateTime.UtcNow;

    /// <summary>Stable event type, e.g. "registry.client.created".</summary>
    public required string EventType { get; set; }

    /// <summary>"user", "client" or "system".</summary>
    public required string ActorKind { get; set; }

    /// <summary>User id, client id, or the name of a start-up step.</summary>
    public required string ActorId { get; set; }

    public string? ActorName { get; set; }

    public required string TargetType { get; set; }

    public required string TargetId { get; set; }

    /// <summary>The department the target belongs to, so that queries can be scoped.</summary>
    public string? DepartmentCode { get; set; }

    /// <summary>JSON of the target before the change; null for a creation.</summary>
    public string? Before { get; set; }

    /// <summary>JSON of the target after the change; null for a deletion.</summary>
    public string? After { get; set; }
}
