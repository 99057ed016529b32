using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Audit;

public sealed record HistorySignIn(long Id, DateTime AtUtc, bool Succeeded, string? Reason, string? IpAddress, string Device, string? App,
    string? Department);

public sealed record HistoryApp(string ClientId, string App, string? Department, DateTime LastUsedUtc, int Times);

public sealed record HistoryRelease(string ClientId, string App, string? Department, IReadOnlyList<string> Claims, IReadOnlyList<string> Masked,
    string Via, DateTime AtUtc);

/// <summary>
/// A citizen's own history for /Account/History, always for the signed-in account only (SubjectId = its id,
/// through the (SubjectId, OccurredAtUtc) index): sign-ins with IP and device, the department apps used, and
/// which claims each app received, when.
/// </summary>
public sealed class CitizenHistory(IdentityHubDbContext db)
{
    public async Task<(IReadOnlyList<HistorySignIn> Items, string? Next)> SignInsAsync(string userId, string? cursor, int limit,
        CancellationToken cancellationToken)
    {
        var events = db.AuditEvents.AsNoTracking().Where(e => e.SubjectId == userId && e.Category == "signin");
        if (AuditQueries.ParseCursor(cursor) is var (time, id))
        {
            events = events.Where(e => e.OccurredAtUtc < time || (e.OccurredAtUtc == time && e.Id < id));
        }

        var rows = await events.OrderByDescending(e => e.OccurredAtUtc).ThenByDescending(e => e.Id).Take(limit + 1)
            .Select(e => new { e.Id, e.OccurredAtUtc, e.Outcome, e.Reason, e.IpAddress, e.UserAgent, e.ClientId, e.DepartmentCode })
            .ToListAsync(cancellationToken);
        var names = await NamesAsync(rows.Select(r => r.ClientId), rows.Select(r => r.DepartmentCode), cancellationToken);
        var items = rows.Take(limit).Select(r => new HistorySignIn(r.Id, Utc(r.OccurredAtUtc), r.Outcome == AuditOutcomes.Success, r.Reason,
            r.IpAddress, DeviceName.From(r.UserAgent), r.ClientId is null ? null : names.App(r.ClientId), names.Department(r.DepartmentCode))).ToList();
        var last = rows.Count > limit ? rows[limit - 1] : null;
        return (items, last is null ? null : $"{last.OccurredAtUtc.Ticks}_{last.Id}");
    }

    public async Task<IReadOnlyList<HistoryApp>> AppsAsync(string userId, CancellationToken cancellationToken)
    {
        var apps = await db.AuditEvents.AsNoTracking()
            .Where(e => e.SubjectId == userId && e.Category == "token" && e.Outcome == AuditOutcomes.Success && e.ClientId != null)
            .GroupBy(e => new { e.ClientId, e.DepartmentCode })
            .Select(g => new { g.Key.ClientId, g.Key.DepartmentCode, Last = g.Max(e => e.OccurredAtUtc), Times = g.Count() })
            .ToListAsync(cancellationToken);
        var names = await NamesAsync(apps.Select(a => a.ClientId), apps.Select(a => a.DepartmentCode), cancellationToken);
        return apps.OrderByDescending(a => a.Last)
            .Select(a => new HistoryApp(a.ClientId!, names.App(a.ClientId!), names.Department(a.DepartmentCode), Utc(a.Last), a.Times)).ToList();
    }

    /// <summary>The latest releases (at most <paramref name="limit"/>), newest first.</summary>
    public async Task<IReadOnlyList<HistoryRelease>> ReleasesAsync(string userId, int limit, CancellationToken cancellationToken)
    {
        var rows = await db.AuditEvents.AsNoTracking()
            .Where(e => e.SubjectId == userId && e.EventType == "claims.released" && e.ClientId != null)
            .OrderByDescending(e => e.OccurredAtUtc).ThenByDescending(e => e.Id).Take(limit)
            .Select(e => new { e.ClientId, e.DepartmentCode, e.Data, e.OccurredAtUtc })
            .ToListAsync(cancellationToken);
        var names = await NamesAsync(rows.Select(r => r.ClientId), rows.Select(r => r.DepartmentCode), cancellationToken);
        return rows.Select(r =>
        {
            var data = JsonSerializer.Deserialize<ReleaseData>(r.Data ?? "{}", AuditLog.Json) ?? new ReleaseData();
            return new HistoryRelease(r.ClientId!, names.App(r.ClientId!), names.Department(r.DepartmentCode), data.Claims ?? [], data.Masked ?? [],
                data.Via ?? "", Utc(r.OccurredAtUtc));
        }).ToList();
    }

    /// <summary>Whether the event is one of this person's own (the "this wasn't me" form names one).</summary>
    public Task<bool> IsOwnAsync(string userId, long eventId, CancellationToken cancellationToken) =>
        db.AuditEvents.AnyAsync(e => e.Id == eventId && e.SubjectId == userId, cancellationToken);

    private static DateTime Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);

    private async Task<Names> NamesAsync(IEnumerable<string?> clientIds, IEnumerable<string?> departments, CancellationToken cancellationToken)
    {
        var clients = clientIds.OfType<string>().Distinct().ToList();
        var codes = departments.OfType<string>().Distinct().ToList();
        var apps = await db.Set<HubApplication>().AsNoTracking().Where(a => clients.Contains(a.ClientId!))
            .Select(a => new { a.ClientId, a.DisplayName }).ToListAsync(cancellationToken);
        var depts = await db.Departments.AsNoTracking().Where(d => codes.Contains(d.Code))
            .Select(d => new { d.Code, d.Name, d.NameEn }).ToListAsync(cancellationToken);
        var english = System.Globalization.CultureInfo.CurrentUICulture.Name.StartsWith("en", StringComparison.Ordinal);
        return new Names(
            apps.ToDictionary(a => a.ClientId!, a => a.DisplayName ?? a.ClientId!, StringComparer.Ordinal),
            depts.ToDictionary(d => d.Code, d => english && !string.IsNullOrEmpty(d.NameEn) ? d.NameEn : d.Name, StringComparer.Ordinal));
    }

    private sealed record Names(Dictionary<string, string> Apps, Dictionary<string, string> Departments)
    {
        public string App(string clientId) => Apps.GetValueOrDefault(clientId, clientId);

        public string? Department(string? code) => code is null ? null : Departments.GetValueOrDefault(code, code);
    }

    private sealed record ReleaseData(string? Via = null, string[]? Claims = null, string[]? Masked = null);
}

/// <summary>A short device description from a user agent ("Chrome · Windows"), for people, not for forensics.</summary>
public static class DeviceName
{
    public static string From(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return "?";
        }

        string[] systems = ["Windows", "Android", "iPhone", "iPad", "Mac OS X", "Linux"];
        string[] browsers = ["MicroMessenger", "Edg/", "Firefox/", "Chrome/", "Safari/"];
        var system = systems.FirstOrDefault(s => userAgent.Contains(s, StringComparison.Ordinal))?.Replace("Mac OS X", "macOS", StringComparison.Ordinal);
        var browser = browsers.FirstOrDefault(b => userAgent.Contains(b, StringComparison.Ordinal))?.TrimEnd('/')
            .Replace("MicroMessenger", "WeChat", StringComparison.Ordinal).Replace("Edg", "Edge", StringComparison.Ordinal);
        return browser is null && system is null
            ? AuditColumns.Cut(userAgent, 40)!
            : string.Join(" · ", new[] { browser, system }.Where(s => s is not null));
    }
}
