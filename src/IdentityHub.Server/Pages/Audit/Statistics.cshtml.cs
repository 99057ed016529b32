using IdentityHub.Server.Audit;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Pages.Audit;

/// <summary>Sign-ins per department per day and failures by reason, as a table and an inline SVG chart.</summary>
public sealed class StatisticsModel(AuditStatistics statistics, IAuditLog audit, TimeProvider clock) : AuditorPageModel
{
    [BindProperty(SupportsGet = true)] public DateOnly? From { get; set; }
    [BindProperty(SupportsGet = true)] public DateOnly? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Department { get; set; }

    public SignInStatistics Result { get; private set; } = null!;

    /// <summary>Every day of the range with its totals (days without sign-ins as zero), for the chart.</summary>
    public IReadOnlyList<(DateOnly Day, int Succeeded, int Failed)> Days { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime + Offset);
        To ??= today;
        From ??= To.Value.AddDays(-13);
        if (From > To || To.Value.DayNumber - From.Value.DayNumber >= AuditStatistics.MaxDays)
        {
            From = To.Value.AddDays(-13);
        }

        Result = await statistics.SignInsAsync(From.Value, To.Value, Department, HttpContext.RequestAborted);
        Days = Enumerable.Range(0, To.Value.DayNumber - From.Value.DayNumber + 1)
            .Select(i => From.Value.AddDays(i))
            .Select(d => (d, Result.Days.Where(x => x.Day == d).Sum(x => x.Succeeded), Result.Days.Where(x => x.Day == d).Sum(x => x.Failed)))
            .ToList();
        await audit.WriteAsync(Actor.Audit, new AuditQueried("console.statistics", new { from = From, to = To, department = Department }, Result.Days.Count));
    }
}
