using System.Text.Json;
using IdentityHub.Server.Data;

namespace IdentityHub.Server.Audit;

/// <summary>
/// The one writer of audit events, two ways, both durable before the caller acknowledges anything:
/// <see cref="Add"/> puts the event into the caller's DbContext unit of work, so the same SaveChanges (and
/// transaction) saves and chains it with the change it records: both or neither. <see cref="WriteAsync"/> is for
/// events without a state change of ours (a failed sign-in, tokens issued, claims released): it returns once the
/// event's group commit is durable, so await it before answering.
/// </summary>
public interface IAuditLog
{
    void Add(AuditActor actor, AuditRecord record);

    Task WriteAsync(AuditActor actor, params AuditRecord[] records);
}

public sealed class AuditLog(IServiceProvider services, AuditWriter writer, AuditRequestInfo request, TimeProvider clock,
    Operations.HubMetrics metrics) : IAuditLog
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Into the request's own context (the one its other services use), resolved only here: WriteAsync needs none.</summary>
    public void Add(AuditActor actor, AuditRecord record) =>
        services.GetRequiredService<IdentityHubDbContext>().AuditEvents.Add(Create(actor, record));

    public Task WriteAsync(AuditActor actor, params AuditRecord[] records)
    {
        var events = new AuditEvent[records.Length];
        for (var i = 0; i < records.Length; i++)
        {
            events[i] = Create(actor, records[i]);
        }

        return writer.WriteAsync(events);
    }

    private AuditEvent Create(AuditActor actor, AuditRecord record)
    {
        var type = record.EventType;
        if (type is "signin.succeeded" or "signin.failed")
        {
            // Every sign-in, whatever the factor or page, is audited here: the one place to count them.
            metrics.SignIn(record.Outcome, record.Reason);
        }

        var dot = type.IndexOf('.', StringComparison.Ordinal);
        return new AuditEvent
        {
            OccurredAtUtc = AuditHash.Truncate(clock.GetUtcNow().UtcDateTime),
            Category = dot > 0 ? type[..dot] : type,
            EventType = type,
            Outcome = record.Outcome,
            Reason = record.Reason,
            ActorKind = actor.Kind,
            ActorId = actor.Id,
            ActorName = actor.Name,
            SubjectId = record.SubjectId,
            EnterpriseId = record.EnterpriseId,
            ClientId = record.ClientId,
            TargetType = record.TargetType,
            TargetId = record.TargetId,
            DepartmentCode = record.DepartmentCode,
            IpAddress = request.IpAddress,
            UserAgent = request.UserAgent,
            SessionId = record.SessionId ?? request.SessionId,
            CorrelationId = request.CorrelationId,
            Before = Serialize(record.Before),
            After = Serialize(record.After),
            Data = record.DataJson(),
        };
    }

    internal static string? Serialize(object? value) => value is null ? null : JsonSerializer.Serialize(value, Json);
}
