using System.Text.Json;
using IdentityHub.Server.Data;

namespace IdentityHub.Server.Audit;

/// <summary>
/// The one writer of audit events. <see cref="Add"/> puts the event into the caller's DbContext unit of
/// work, so the event is saved by the same SaveChanges as the change it records: both or neither.
/// </summary>
public interface IAuditLog
{
    void Add(AuditActor actor, AuditRecord record);
}

public sealed class AuditLog(IdentityHubDbContext db, TimeProvider clock) : IAuditLog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public void Add(AuditActor actor, AuditRecord record) => db.AuditEvents.Add(new AuditEvent
    {
        OccurredAtUtc = clock.GetUtcNow().UtcDateTime,
        EventType = record.EventType,
        ActorKind = actor.Kind,
        ActorId = actor.Id,
        ActorName = actor.Name,
        TargetType = record.TargetType,
        TargetId = record.TargetId,
        DepartmentCode = record.DepartmentCode,
        Before = record.Before is null ? null : JsonSerializer.Serialize(record.Before, Json),
        After = record.After is null ? null : JsonSerializer.Serialize(record.After, Json),
    });
}
