using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace IdentityHub.Server.Registry;

/// <summary>
/// Empties the client cache (<see cref="ClientCache"/>: this node's at once, the other nodes' through
/// <see cref="IClientChangeFeed"/>) after a change to a client (OpenIddict application, through the registry or
/// OpenIddict's managers), a client secret or a department is committed: after the SaveChanges without a transaction,
/// or after the commit of the transaction it ran in, before the request that made the change answers. Stateless (one
/// instance serves every pooled context); the pending flag is kept per context. Changes made with ExecuteUpdate or
/// ExecuteDelete bypass it: the registry makes none to these tables.
/// </summary>
public sealed class RegistryChangeInterceptor : SaveChangesInterceptor, IDbTransactionInterceptor
{
    private static readonly ConditionalWeakTable<DbContext, object> Pending = new();

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Note(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        Note(eventData.Context);
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
        FlushAsync(eventData.Context).GetAwaiter().GetResult();

    public Task TransactionCommittedAsync(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData,
        CancellationToken cancellationToken = default) => FlushAsync(eventData.Context);

    public void TransactionRolledBack(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData) => Forget(eventData.Context);

    public Task TransactionRolledBackAsync(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context);
        return Task.CompletedTask;
    }

    private static void Note(DbContext? db)
    {
        if (db is not null && db.ChangeTracker.Entries().Any(e =>
                e.State is EntityState.Added or EntityState.Modified or EntityState.Deleted
                && e.Entity is HubApplication or Department or ClientSecretEntry))
        {
            Pending.AddOrUpdate(db, true);
        }
    }

    private static Task FlushIfCommitted(DbContext? db) =>
        db is null || db.Database.CurrentTransaction is not null ? Task.CompletedTask : FlushAsync(db);

    private static async Task FlushAsync(DbContext? db)
    {
        if (db is null || !Pending.TryGetValue(db, out _))
        {
            return;
        }

        Pending.Remove(db);
        var services = db.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.ApplicationServiceProvider;
        if (services?.GetService<ClientCache>() is { } cache)
        {
            await cache.ChangedAsync();
        }
    }

    private static void ForgetIfNoTransaction(DbContext? db)
    {
        if (db?.Database.CurrentTransaction is null)
        {
            Forget(db);
        }
    }

    private static void Forget(DbContext? db)
    {
        if (db is not null)
        {
            Pending.Remove(db);
        }
    }
}
