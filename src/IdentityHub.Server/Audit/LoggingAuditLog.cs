using System.Text.Json;

namespace IdentityHub.Server.Audit;

/// <summary>
/// Writes audit events to the log (category IdentityHub.Audit) until the database-backed audit part is
/// merged. Only the event type, the actor's kind and id (an opaque account id, never a name, mobile
/// number or code) and the target go to the log; the actor's name is left out on purpose.
/// </summary>
public sealed partial class LoggingAuditLog(ILoggerFactory loggers) : IAuditLog
{
    private readonly ILogger _logger = loggers.CreateLogger("IdentityHub.Audit");

    public void Add(AuditActor actor, AuditRecord record) =>
        Write(_logger, record.EventType, actor.Kind, actor.Id, record.TargetType, record.TargetId,
            record.After is null ? "" : JsonSerializer.Serialize(record.After));

    [LoggerMessage(EventId = 9000, Level = LogLevel.Information,
        Message = "audit {EventType} actor={ActorKind}:{ActorId} target={TargetType}:{TargetId} {Details}")]
    private static partial void Write(ILogger logger, string eventType, string actorKind, string actorId,
        string targetType, string targetId, string details);
}
