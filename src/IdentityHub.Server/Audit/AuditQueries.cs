using System.Globalization;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Audit;

public sealed record AuditEventView(long Id, DateTime OccurredAtUtc, string EventType, string ActorKind, string ActorId, string? ActorName,
    string TargetType, string TargetId, string? DepartmentCode, string? Before, string? After);

/// <summary>One row as auditors see it.</summary>
public sealed record AuditRow(long Id, DateTime OccurredAtUtc, string EventType, string Outcome, string? Reason, string ActorKind, string ActorId,
    string? ActorName, string? SubjectId, string? EnterpriseId, string? ClientId, string? DepartmentCode, string TargetType, string TargetId,
    string? IpAddress, string? UserAgent, string? SessionId, string? CorrelationId, string? Before, string? After, string? Data,
    string? NodeId, long? Sequence, string? Hash);

/// <summary>
/// What auditors filter on. <see cref="PersonIds"/> are internal account ids (resolved from a user name, mobile
/// number or ID number by <see cref="AuditPersonResolver"/>): events about them or done by them. <see cref="Type"/>
/// is an event type, or a class without a dot ("signin").
/// </summary>
public sealed record AuditFilter(
    IReadOnlyList<string>? PersonIds = null,
    string? Enterprise = null,
    string? Department = null,
    string? Client = null,
    string? Type = null,
    string? Outcome = null,
    string? Ip = null,
    DateTime? FromUtc = null,
    DateTime? ToUtc = null);

public sealed record AuditPage(IReadOnlyList<AuditRow> Items, string? NextCursor);

public sealed class AuditQueries(IdentityHubDbContext db)
{
    public const int MaxPageSize = 200;

    /// <summary>Registry changes only (the registry's own audit view), newest first; <c>departmentScope</c> limits them to one department's.</summary>
    public async Task<(IReadOnlyList<AuditEventView> Items, int Total)> ListAsync(string? departmentScope, string? targetType, string? targetId,
        int skip, int take, CancellationToken cancellationToken)
    {
        var events = db.AuditEvents.AsNoTracking().Where(e => e.Category == "registry");
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

    /// <summary>
    /// Newest first, by keyset (time, id): a page starts strictly after the cursor's row, so rows inserted
    /// meanwhile never shift a page (no repeats), and every row older than the cursor is still there (no gaps).
    /// </summary>
    public async Task<AuditPage> SearchAsync(AuditFilter filter, string? cursor, int limit, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, MaxPageSize);
        var events = Apply(db.AuditEvents.AsNoTracking(), filter);
        if (ParseCursor(cursor) is var (time, id))
        {
            events = events.Where(e => e.OccurredAtUtc < time || (e.OccurredAtUtc == time && e.Id < id));
        }

        var rows = await Project(events.OrderByDescending(e => e.OccurredAtUtc).ThenByDescending(e => e.Id).Take(limit + 1))
            .ToListAsync(cancellationToken);
        var next = rows.Count > limit ? Cursor(rows[limit - 1]) : null;
        return new AuditPage(rows.Take(limit).Select(AsUtc).ToList(), next);
    }

    /// <summary>Every matching row, newest first, streamed (exports).</summary>
    public IAsyncEnumerable<AuditRow> StreamAsync(AuditFilter filter) =>
        Project(Apply(db.AuditEvents.AsNoTracking(), filter).OrderByDescending(e => e.OccurredAtUtc).ThenByDescending(e => e.Id))
            .AsAsyncEnumerable().Select(AsUtc);

    /// <summary>SQLite returns stored times without a kind; every time here is UTC.</summary>
    private static AuditRow AsUtc(AuditRow row) => row with { OccurredAtUtc = DateTime.SpecifyKind(row.OccurredAtUtc, DateTimeKind.Utc) };

    public static IQueryable<AuditEvent> Apply(IQueryable<AuditEvent> events, AuditFilter filter)
    {
        if (filter.PersonIds is { } people)
        {
            events = events.Where(e => (e.SubjectId != null && people.Contains(e.SubjectId)) || (e.ActorKind == "user" && people.Contains(e.ActorId)));
        }

        if (!string.IsNullOrWhiteSpace(filter.Enterprise))
        {
            events = events.Where(e => e.EnterpriseId == filter.Enterprise);
        }

        if (!string.IsNullOrWhiteSpace(filter.Department))
        {
            events = events.Where(e => e.DepartmentCode == filter.Department);
        }

        if (!string.IsNullOrWhiteSpace(filter.Client))
        {
            events = events.Where(e => e.ClientId == filter.Client);
        }

        if (!string.IsNullOrWhiteSpace(filter.Type))
        {
            events = filter.Type.Contains('.', StringComparison.Ordinal)
                ? events.Where(e => e.EventType == filter.Type)
                : events.Where(e => e.Category == filter.Type);
        }

        if (!string.IsNullOrWhiteSpace(filter.Outcome))
        {
            events = events.Where(e => e.Outcome == filter.Outcome);
        }

        if (!string.IsNullOrWhiteSpace(filter.Ip))
        {
            events = events.Where(e => e.IpAddress == filter.Ip);
        }

        if (filter.FromUtc is { } from)
        {
            events = events.Where(e => e.OccurredAtUtc >= from);
        }

        if (filter.ToUtc is { } to)
        {
            events = events.Where(e => e.OccurredAtUtc < to);
        }

        return events;
    }

    public static string Cursor(AuditRow row) =>
        row.OccurredAtUtc.Ticks.ToString(CultureInfo.InvariantCulture) + "_" + row.Id.ToString(CultureInfo.InvariantCulture);

    public static (DateTime Time, long Id)? ParseCursor(string? cursor)
    {
        var parts = cursor?.Split('_');
        return parts is [var ticks, var id]
               && long.TryParse(ticks, NumberStyles.None, CultureInfo.InvariantCulture, out var t) && t is >= 0 and <= 3155378975999999999
               && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            ? (new DateTime(t, DateTimeKind.Utc), i)
            : null;
    }

    private static IQueryable<AuditRow> Project(IQueryable<AuditEvent> events) => events.Select(e => new AuditRow(e.Id, e.OccurredAtUtc, e.EventType,
        e.Outcome, e.Reason, e.ActorKind, e.ActorId, e.ActorName, e.SubjectId, e.EnterpriseId, e.ClientId, e.DepartmentCode, e.TargetType, e.TargetId,
        e.IpAddress, e.UserAgent, e.SessionId, e.CorrelationId, e.Before, e.After, e.Data, e.NodeId, e.Sequence, e.Hash));
}
