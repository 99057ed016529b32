using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Audit;

/// <summary>Runs retention every Audit:RetentionInterval (zero: never; the audit-retention command does it).</summary>
public sealed class AuditRetentionService(IServiceScopeFactory scopes, IOptions<AuditOptions> options, ILogger<AuditRetentionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.RetentionInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var result = await scope.ServiceProvider.GetRequiredService<AuditRetention>().RunAsync(stoppingToken);
                if (result is not null)
                {
                    logger.LogInformation("Archived and removed {Count} audit events to {Directory}", result.Count, result.Directory);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Audit retention failed; retrying at the next tick");
            }
        }
    }
}

public static class AuditStartup
{
    /// <summary>
    /// Chains rows written before the chain existed (they have no hash yet), oldest first, on this node's chain.
    /// Runs once after the migration that added the chain; a no-op afterwards. Guarded per row, so that nodes
    /// starting together cannot chain one row twice.
    /// </summary>
    public static async Task InitializeAuditAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var legacy = await db.AuditEvents.AsNoTracking().Where(e => e.Hash == null).OrderBy(e => e.Id).ToListAsync();
        if (legacy.Count == 0)
        {
            return;
        }

        await using var transaction = await db.Database.BeginTransactionAsync();
        await scope.ServiceProvider.GetRequiredService<AuditChain>().SealAsync(db, legacy, CancellationToken.None);
        foreach (var row in legacy)
        {
            var updated = await db.AuditEvents.Where(e => e.Id == row.Id && e.Hash == null).ExecuteUpdateAsync(set => set
                .SetProperty(e => e.NodeId, row.NodeId)
                .SetProperty(e => e.Sequence, row.Sequence)
                .SetProperty(e => e.PreviousHash, row.PreviousHash)
                .SetProperty(e => e.Hash, row.Hash));
            if (updated != 1)
            {
                // Another node is chaining them: leave it to that node.
                await transaction.RollbackAsync();
                return;
            }
        }

        await transaction.CommitAsync();
    }
}
