using System.Runtime.CompilerServices;
using System.Text.Json;
using IdentityHub.Server.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace IdentityHub.Server.Scale;

/// <summary>
/// Client lookups of the protocol endpoints (<see cref="ClientPolicies"/>) cached in Redis for every node. A change to
/// any client or department invalidates the whole region once the change commits (<see cref="RegistryChangeInterceptor"/>):
/// registry changes are rare, lookups are on every request. Unknown client ids are not cached.
/// </summary>
public sealed class RedisClientPolicyCache(SharedCache cache) : IClientPolicyCache
{
    public async Task<ClientPolicyRow?> GetOrLoadAsync(string clientId, Func<CancellationToken, Task<ClientPolicyRow?>> load,
        CancellationToken cancellationToken)
    {
        var cached = await cache.GetAsync(SharedCache.Clients, clientId);
        if (cached.Value is not null)
        {
            return JsonSerializer.Deserialize<ClientPolicyRow>(cached.Value);
        }

        var row = await load(cancellationToken);
        if (row is not null && cached.Generation is not null)
        {
            await cache.AddAsync(SharedCache.Clients, cached.Generation, clientId, JsonSerializer.Serialize(row));
        }

        return row;
    }
}

/// <summary>
/// Invalidates the shared client cache after a change to a client (OpenIddict application, through the registry or
/// OpenIddict's managers) or a department is committed: after the SaveChanges without a transaction, or after the
/// commit of the transaction it ran in. Stateless (one instance serves every pooled context); the pending flag is kept
/// per context.
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
                && e.Entity is HubApplication or Department))
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
        if (services?.GetService<SharedCache>() is { } cache)
        {
            await cache.InvalidateAsync(SharedCache.Clients);
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
