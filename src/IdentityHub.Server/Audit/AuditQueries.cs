using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Audit;

public sealed record AuditEventView(long Id, DateTime OccurredAtUtc, string EventType, string ActorKind, string ActorId, string? ActorName,
    string TargetType, string TargetId, string? DepartmentCode, string? Before, string? After);

/// <summary>Reads audit events, newest first; <c>departmentScope</c> limits them to one department's.</summary>
public sealed class AuditQueries(IdentityHubDbContext db)
{
    public async Task<(IReadOnlyList<AuditEventView> Items, int Total)> ListAsync(string? departmentScope, string? targetType, string? targetId,
        int skip, int take, CancellationToken cancellationToken)
    {
        var events = db.AuditEvents.AsNoTracking();
        if (departmentScope is not null)
        {
            events = events.Where(e => e.DepartmentCode == departmentScope);
        }

        if (!string.IsNullOrEmpty(targetType))
        {
            events = events.Where(e => e.TargetType == targetType);
        }

        if (!string.IsNullOrEmpty(targetId))
        {
            events = events.Where(e => e.TargetId == targetId);
        }

        var total = await events.CountAsync(cancellationToken);
        var items = await events.OrderByDescending(e => e.Id).Skip(skip).Take(take)
            .Select(e => new AuditEventView(e.Id, e.OccurredAtUtc, e.EventType, e.ActorKind, e.ActorId, e.ActorName, e.TargetType, e.TargetId,
                e.DepartmentCode, e.Before, e.After))
            .ToListAsync(cancellationToken);
        return (items, total);
    }
}
