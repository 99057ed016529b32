using System.Data.Common;
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
/// <para>
/// With <see cref="AuditOptions.AppendWithCommit"/> the append and the COMMIT go in one batch
/// (<see cref="AuditBatchInsert.AppendAndCommitAsync"/>); the transaction object is then ended through EF Core as usual,
/// so that every transaction interceptor sees the commit (<see cref="Data.AfterCommitInterceptor{TPending}"/>), but its
/// COMMIT (or, after a failed COMMIT, its ROLLBACK) is not sent again: suppressed here.
/// </para>
/// </summary>
public sealed class AuditChainInterceptor : SaveChangesInterceptor, IDbTransactionInterceptor
{
    private static readonly ConditionalWeakTable<DbContext, OwnedTransaction> Owned = new();

    /// <summary>PostgreSQL: the rows of a save in a transaction begun here, to append once its statements have run.</summary>
    private static readonly ConditionalWeakTable<DbContext, List<AuditEvent>> Deferred = new();

    /// <summary>
    /// Transactions that ended in the append's batch, while EF Core's transaction object is being ended: their COMMIT or
    /// ROLLBACK is not sent. Removed as soon as that is done (Npgsql reuses a connection's transaction object).
    /// </summary>
    private static readonly ConditionalWeakTable<DbTransaction, OwnedTransaction> EndedInBatch = new();

    /// <summary>A transaction begun here, and the chain head its rows move to (remembered once it commits).</summary>
    private sealed class OwnedTransaction(IDbContextTransaction transaction)
    {
        public IDbContextTransaction Transaction { get; } = transaction;

        public (AuditChain Chain, AuditChainPosition Head)? Sealed { get; set; }

        /// <summary>Committed by the append's batch, or rolled back by its failed COMMIT: nothing more to send.</summary>
        public bool Ended { get; set; }
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
            Owned.TryGetValue(db, out var owned);
            AuditChainPosition head;
            bool committed;
            try
            {
                (head, committed) = await chain.AppendInTransactionAsync(db, rows, commit: owned is not null, cancellationToken);
            }
            catch when (owned is not null && AuditBatchInsert.Ended(owned.Transaction.GetDbTransaction()))
            {
                owned.Ended = true;
                throw;
            }

            if (owned is not null)
            {
                owned.Sealed = (chain, head);
                owned.Ended = committed;
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
        var ended = owned.Ended ? owned.Transaction.GetDbTransaction() : null;
        if (ended is not null)
        {
            EndedInBatch.AddOrUpdate(ended, owned);
        }

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
            if (ended is not null)
            {
                EndedInBatch.Remove(ended);
            }

            await owned.Transaction.DisposeAsync();
        }
    }

    // A transaction the append's batch ended: EF Core ends its object (and tells the other interceptors) without sending anything.
    public InterceptionResult TransactionCommitting(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result) =>
        Suppressed(transaction, result);

    public ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData,
        InterceptionResult result, CancellationToken cancellationToken = default) => ValueTask.FromResult(Suppressed(transaction, result));

    public InterceptionResult TransactionRollingBack(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result) =>
        Suppressed(transaction, result);

    public ValueTask<InterceptionResult> TransactionRollingBackAsync(DbTransaction transaction, TransactionEventData eventData,
        InterceptionResult result, CancellationToken cancellationToken = default) => ValueTask.FromResult(Suppressed(transaction, result));

    private static InterceptionResult Suppressed(DbTransaction transaction, InterceptionResult result) =>
        EndedInBatch.TryGetValue(transaction, out _) ? InterceptionResult.Suppress() : result;

    /// <summary>The chain service of the application that created the context (AddDbContext sets its service provider).</summary>
    private static AuditChain Resolve(DbContext db)
    {
        var services = db.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.ApplicationServiceProvider;
        return services?.GetService<AuditChain>()
            ?? throw new InvalidOperationException("Audit rows need the audit chain service (AddIdentityHubAudit).");
    }
}
