using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace IdentityHub.Server.Data;

/// <summary>
/// The plumbing of an interceptor that acts once a change is committed: <see cref="Note"/> looks at the tracked
/// entries before each SaveChanges and keeps what it needs per context; <see cref="FlushAsync"/> runs after the
/// SaveChanges when it ran without a transaction, or after the commit of the transaction it ran in, before the request
/// that made the change answers. A failed SaveChanges outside a transaction, or a rolled-back transaction, forgets what
/// was noted. One instance serves every pooled context (what is noted is kept per context). Changes made with
/// ExecuteUpdate, ExecuteDelete or raw SQL bypass it. Used by the caches that must never serve what a committed change
/// made stale (<see cref="Registry.RegistryChangeInterceptor"/>, <see cref="Oidc.PersonChangeInterceptor"/>).
/// </summary>
/// <typeparam name="TPending">What is noted for one context until its commit.</typeparam>
public abstract class AfterCommitInterceptor<TPending> : SaveChangesInterceptor, IDbTransactionInterceptor
    where TPending : class
{
    private readonly ConditionalWeakTable<DbContext, TPending> _pending = new();

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        NoteIn(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        NoteIn(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        FlushIfCommitted(eventData.Context).GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result,
        CancellationToken cancellationToken = default)
    {
        await FlushIfCommitted(eventData.Context);
        return result;
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData) => ForgetIfNoTransaction(eventData.Context);

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        ForgetIfNoTransaction(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionCommitted(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData) =>
        FlushCommitted(eventData.Context).GetAwaiter().GetResult();

    public Task TransactionCommittedAsync(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData,
        CancellationToken cancellationToken = default) => FlushCommitted(eventData.Context);

    public void TransactionRolledBack(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData) => Forget(eventData.Context);

    public Task TransactionRolledBackAsync(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context);
        return Task.CompletedTask;
    }

    /// <summary>Looks at the context's tracked entries before a save; returns what to keep (<paramref name="pending"/>, a new one, or null: nothing).</summary>
    protected abstract TPending? Note(DbContext db, TPending? pending);

    /// <summary>After the commit: acts on what was noted, with the application's services.</summary>
    protected abstract Task FlushAsync(IServiceProvider services, TPending pending);

    private void NoteIn(DbContext? db)
    {
        if (db is null)
        {
            return;
        }

        _pending.TryGetValue(db, out var existing);
        if (Note(db, existing) is { } pending && !ReferenceEquals(pending, existing))
        {
            _pending.AddOrUpdate(db, pending);
        }
    }

    private Task FlushIfCommitted(DbContext? db) =>
        db is null || db.Database.CurrentTransaction is not null ? Task.CompletedTask : FlushCommitted(db);

    private async Task FlushCommitted(DbContext? db)
    {
        if (db is null || !_pending.TryGetValue(db, out var pending))
        {
            return;
        }

        _pending.Remove(db);
        if (db.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.ApplicationServiceProvider is { } services)
        {
            await FlushAsync(services, pending);
        }
    }

    private void ForgetIfNoTransaction(DbContext? db)
    {
        if (db?.Database.CurrentTransaction is null)
        {
            Forget(db);
        }
    }

    private void Forget(DbContext? db)
    {
        if (db is not null)
        {
            _pending.Remove(db);
        }
    }
}
