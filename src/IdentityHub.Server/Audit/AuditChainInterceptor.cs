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
/// <para>
/// PostgreSQL, a transaction begun here: the rows are taken out of the unit of work before it is saved and appended
/// after its statements, still in its transaction, with the head's move in one statement
/// (<see cref="AuditChain.AppendInTransactionAsync"/>), in this process's turn (<see cref="AuditChain.EnterOrderAsync"/>),
/// which lasts that statement and the commit: the head's row lock is held for one round trip and the commit instead of
/// from the head's update through the whole save, and the group commit no longer makes these appends miss the head.
/// A save that fails before the append gives its rows back to the unit of work, unsealed, as before.
/// Elsewhere (SQLite; a caller's own transaction, whose commit is not seen here) the rows are sealed before the save
/// and inserted by it.
/// </para>
/// </summary>
public sealed class AuditChainInterceptor : SaveChangesInterceptor
{
    private static readonly ConditionalWeakTable<DbContext, OwnedTransaction> Owned = new();

    /// <summary>PostgreSQL: the rows of a save in a transaction begun here, to append once its statements have run.</summary>
    private static readonly ConditionalWeakTable<DbContext, List<AuditEvent>> Deferred = new();

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

        GiveBack(db);
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
            if (AuditChain.IsPostgres(db))
            {
                // Appended after the save's statements (SavedChangesAsync), in one statement with the head's move.
                foreach (var row in pending)
                {
                    db.Entry(row).State = EntityState.Detached;
                }

                Deferred.AddOrUpdate(db, pending);
                return result;
            }
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
        var db = eventData.Context;
        if (db is not null && Deferred.TryGetValue(db, out var rows))
        {
            Deferred.Remove(db);
            await AppendAndCommitAsync(db, rows, cancellationToken);
            return result;
        }

        await EndOwnedAsync(db, commit: true);
        return result;
    }

    public override async Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        GiveBack(eventData.Context);
        await EndOwnedAsync(eventData.Context, commit: false);
    }

    public override async Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        GiveBack(eventData.Context);
        await EndOwnedAsync(eventData.Context, commit: false);
    }

    /// <summary>
    /// PostgreSQL, the save's statements have run in the transaction begun here: in this process's turn, its audit rows
    /// with the head's move (one statement), then the commit, then the new head remembered for the next turn.
    /// </summary>
    private static async Task AppendAndCommitAsync(DbContext db, List<AuditEvent> rows, CancellationToken cancellationToken)
    {
        var chain = Resolve(db);
        var turn = false;
        try
        {
            turn = await chain.EnterOrderAsync(cancellationToken);
            var head = await chain.AppendInTransactionAsync(db, rows, cancellationToken);
            if (Owned.TryGetValue(db, out var owned))
            {
                owned.Sealed = (chain, head);
            }

            await EndOwnedAsync(db, commit: true);
        }
        catch
        {
            // The rows were counted as appended; a checkpoint among them is not taken for stored.
            chain.NotCommitted(rows.Count);
            await EndOwnedAsync(db, commit: false);
            throw;
        }
        finally
        {
            if (turn)
            {
                chain.ExitOrder();
            }
        }
    }

    /// <summary>A save that failed before its rows were appended: they go back to the unit of work, unsealed, as they came.</summary>
    private static void GiveBack(DbContext? db)
    {
        if (db is null || !Deferred.TryGetValue(db, out var rows))
        {
            return;
        }

        Deferred.Remove(db);
        db.Set<AuditEvent>().AddRange(rows);
    }

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
