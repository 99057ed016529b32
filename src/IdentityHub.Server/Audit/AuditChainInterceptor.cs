using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace IdentityHub.Server.Audit;

/// <summary>
/// Chains the audit rows a SaveChanges adds (<see cref="IAuditLog.Add"/>), in the same transaction as the state
/// change they record: the caller's transaction if there is one, otherwise one begun here and committed right
/// after the save (rolled back if it fails). Stateless: one instance serves every (pooled) context; the transaction
/// begun here is kept per context.
/// </summary>
public sealed class AuditChainInterceptor : SaveChangesInterceptor
{
    private static readonly ConditionalWeakTable<DbContext, OwnedTransaction> Owned = new();

    /// <summary>A transaction begun here, and the chain head its rows move to (remembered once it commits).</summary>
    private sealed class OwnedTransaction(IDbContextTransaction transaction)
    {
        public IDbContextTransaction Transaction { get; } = transaction;

        public (AuditChain Chain, AuditChainPosition Head)? Sealed { get; set; }
    }

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result) =>
        eventData.Context?.ChangeTracker.Entries<AuditEvent>().Any(e => e.State == EntityState.Added && e.Entity.Hash is null) == true
            ? throw new InvalidOperationException("Audit rows are sealed on the asynchronous path: use SaveChangesAsync.")
            : result;

    public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        var db = eventData.Context;
        if (db is null)
        {
            return result;
        }

        var pending = db.ChangeTracker.Entries<AuditEvent>()
            .Where(e => e.State == EntityState.Added && e.Entity.Hash is null)
            .Select(e => e.Entity)
            .OrderBy(e => e.OccurredAtUtc)
            .ToList();
        if (pending.Count == 0)
        {
            return result;
        }

        var chain = Resolve(db);
        await EndOwnedAsync(db, commit: false);
        OwnedTransaction? owned = null;
        if (db.Database.CurrentTransaction is null)
        {
            owned = new OwnedTransaction(await db.Database.BeginTransactionAsync(cancellationToken));
            Owned.AddOrUpdate(db, owned);
            // SaveChanges inside a transaction it did not begin sets a savepoint (SAVEPOINT / RELEASE: two more round
            // trips) to roll back to on failure; a failure here rolls the whole owned transaction back anyway.
            db.Database.AutoSavepointsEnabled = false;
        }

        var head = await chain.SealAsync(db, pending, cancellationToken);
        if (owned is not null)
        {
            // Remembered as the chain's head only once committed here; in the caller's transaction (whose end is not
            // seen here) the next append finds the head moved and takes the locked path.
            owned.Sealed = (chain, head);
        }

        return result;
    }

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result,
        CancellationToken cancellationToken = default)
    {
        await EndOwnedAsync(eventData.Context, commit: true);
        return result;
    }

    public override async Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default) =>
        await EndOwnedAsync(eventData.Context, commit: false);

    public override async Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default) =>
        await EndOwnedAsync(eventData.Context, commit: false);

    private static async Task EndOwnedAsync(DbContext? db, bool commit)
    {
        if (db is null || !Owned.TryGetValue(db, out var owned))
        {
            return;
        }

        Owned.Remove(db);
        db.Database.AutoSavepointsEnabled = true;
        try
        {
            if (commit)
            {
                // Not cancellable: the rows are written; only the commit makes them (and the change) durable.
                await owned.Transaction.CommitAsync(CancellationToken.None);
                if (owned.Sealed is { } sealedHead)
                {
                    sealedHead.Chain.Committed(sealedHead.Head);
                }
            }
            else
            {
                await owned.Transaction.RollbackAsync(CancellationToken.None);
            }
        }
        finally
        {
            await owned.Transaction.DisposeAsync();
        }
    }

    /// <summary>The chain service of the application that created the context (AddDbContext sets its service provider).</summary>
    private static AuditChain Resolve(DbContext db)
    {
        var services = db.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.ApplicationServiceProvider;
        return services?.GetService<AuditChain>()
            ?? throw new InvalidOperationException("Audit rows need the audit chain service (AddIdentityHubAudit).");
    }
}
