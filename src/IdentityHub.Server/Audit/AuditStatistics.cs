using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Audit;

public sealed record SignInDay(DateOnly Day, string? Department, int Succeeded, int Failed);

/// <summary>Sign-ins per department per local day (Audit:StatisticsUtcOffset), and the failures by reason.</summary>
public sealed record SignInStatistics(DateOnly From, DateOnly To, TimeSpan UtcOffset, IReadOnlyList<SignInDay> Days,
    IReadOnlyDictionary<string, int> FailureReasons)
{
    public int Succeeded => Days.Sum(d => d.Succeeded);

    public int Failed => Days.Sum(d => d.Failed);
}

/// <summary>
/// Counts in the database, grouped by local day (UTC time shifted by Audit:StatisticsUtcOffset, then its date),
/// department and outcome: at most days x departments x 2 rows come back, whatever the number of sign-ins. On
/// PostgreSQL the range is an index-only scan of (Category, OccurredAtUtc) INCLUDE (DepartmentCode, Outcome, Reason).
/// </summary>
public sealed class AuditStatistics(IdentityHubDbContext db, IOptions<AuditOptions> options)
{
    public const int MaxDays = 366;

    public async Task<SignInStatistics> SignInsAsync(DateOnly from, DateOnly to, string? department, CancellationToken cancellationToken)
    {
        var offset = options.Value.StatisticsUtcOffset;
        var minutes = offset.TotalMinutes;
        var fromUtc = DateTime.SpecifyKind(from.ToDateTime(TimeOnly.MinValue) - offset, DateTimeKind.Utc);
        var toUtc = DateTime.SpecifyKind(to.AddDays(1).ToDateTime(TimeOnly.MinValue) - offset, DateTimeKind.Utc);
        var signIns = db.AuditEvents.AsNoTracking().Where(e => e.Category == "signin" && e.OccurredAtUtc >= fromUtc && e.OccurredAtUtc < toUtc);
        if (!string.IsNullOrWhiteSpace(department))
        {
            signIns = signIns.Where(e => e.DepartmentCode == department);
        }

        var counts = await signIns
            .GroupBy(e => new { e.OccurredAtUtc.AddMinutes(minutes).Date, e.DepartmentCode, e.Outcome })
            .Select(g => new { g.Key.Date, g.Key.DepartmentCode, g.Key.Outcome, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var days = counts
            .GroupBy(c => (Day: DateOnly.FromDateTime(c.Date), c.DepartmentCode))
            .Select(g => new SignInDay(g.Key.Day, g.Key.DepartmentCode,
                g.Where(c => c.Outcome == AuditOutcomes.Success).Sum(c => c.Count),
                g.Where(c => c.Outcome == AuditOutcomes.Failure).Sum(c => c.Count)))
            .OrderBy(d => d.Day).ThenBy(d => d.Department, StringComparer.Ordinal)
            .ToList();
        var reasons = await signIns.Where(e => e.Outcome == AuditOutcomes.Failure)
            .GroupBy(e => e.Reason)
            .Select(g => new { Reason = g.Key, Count = g.Count() })
            .ToListAsync(cancellationToken);
        return new SignInStatistics(from, to, offset, days,
            reasons.ToDictionary(r => r.Reason ?? "unknown", r => r.Count, StringComparer.Ordinal));
    }
}
