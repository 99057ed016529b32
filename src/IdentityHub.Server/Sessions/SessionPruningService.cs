using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Sessions;

/// <summary>
/// Every hour, removes sessions that ended (or expired) longer than Sessions:RetainFor ago, with their participant
/// rows, and the logout notices that were delivered or abandoned as long ago. The audit events stay: they are the record.
/// </summary>
public sealed class SessionPruningService(
    IServiceScopeFactory scopes,
    IOptions<SessionOptions> options,
    TimeProvider clock,
    ILogger<SessionPruningService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PruneAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be migrating or briefly unavailable; try again at the next tick.
                logger.LogWarning(e, "Session pruning failed");
            }
        }
    }

    public async Task PruneAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var settings = options.Value;
        var now = clock.GetUtcNow().UtcDateTime;
        var ended = now - settings.RetainFor;
        // An open session is over once idle or too old; it is kept as long after that as an ended one.
        var idle = ended - settings.IdleTimeout;
        var created = ended - settings.AbsoluteTimeout;
        var old = db.Set<SsoSession>().Where(s => s.EndedAtUtc < ended
            || (s.EndedAtUtc == null && (s.LastActivityAtUtc < idle || s.CreatedAtUtc < created)));
        var participants = await db.Set<SessionParticipant>().Where(p => old.Any(s => s.Id == p.SessionId)).ExecuteDeleteAsync(cancellationToken);
        var sessions = await old.ExecuteDeleteAsync(cancellationToken);
        var notices = await db.Set<LogoutNotice>().Where(n => n.DueAtUtc == null && n.CreatedAtUtc < ended).ExecuteDeleteAsync(cancellationToken);
        logger.LogInformation("Pruned {Sessions} sessions ({Participants} participants) and {Notices} logout notices", sessions, participants, notices);
    }
}
