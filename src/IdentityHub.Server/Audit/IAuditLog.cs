namespace IdentityHub.Server.Audit;

// MERGE NOTE: a stand-in until the registry branch's Audit part (database-backed, append-only) is
// merged. These three types have the same names and shapes as that part's IAuditLog, AuditActor and
// AuditRecord, so the merge deletes this file and keeps AccountAuditEvents.cs. The callers here
// (SecurityEvents) save the DbContext right after Add, so a unit-of-work implementation also works.

/// <summary>The one writer of audit events.</summary>
public interface IAuditLog
{
    void Add(AuditActor actor, AuditRecord record);
}

/// <summary>Who did it: a person (user id), a client acting for itself (client id), or the server itself.</summary>
public sealed record AuditActor(string Kind, string Id, string? Name)
{
    public static AuditActor System(string step) => new("system", step, null);

    public static AuditActor User(string id, string? name) => new("user", id, name);

    public static AuditActor Client(string clientId) => new("client", clientId, null);
}

/// <summary>A typed audit event: what happened to which target, with the target's state before and after.</summary>
public abstract record AuditRecord(string TargetId, string? DepartmentCode, object? Before, object? After)
{
    public abstract string EventType { get; }

    public abstract string TargetType { get; }
}
