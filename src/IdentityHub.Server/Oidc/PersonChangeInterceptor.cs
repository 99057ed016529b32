using System.Runtime.CompilerServices;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Empties the entries of <see cref="ClaimsPersonCache"/> (this node's at once, the other nodes' through
/// <see cref="IPersonChangeFeed"/>) of every account whose claims may have changed, after the change is committed: after
/// the SaveChanges without a transaction, or after the commit of the transaction it ran in, before the request that made
/// the change answers (the pattern of <see cref="Registry.RegistryChangeInterceptor"/>). What counts: any changed or
/// deleted account row (user name, display name, e-mail, phone and their confirmation, assurance level, lockout, stamps,
/// deletion: whatever the property), any added, changed or deleted real-name record or verification evidence; a changed or deleted pairwise subject
/// (never done today) empties everything. The ids are read before the save (a deleted entity is detached after it).
/// Stateless (one instance serves every pooled context); the pending ids are kept per context. Changes made with
/// ExecuteUpdate, ExecuteDelete or raw SQL bypass it: nothing makes such changes to these tables.
/// </summary>
public sealed class PersonChangeInterceptor : SaveChangesInterceptor, IDbTransactionInterceptor
{
    private static readonly ConditionalWeakTable<DbContext, PendingChanges> Pending = new();

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
        if (db is null)
        {
            return;
        }

        PendingChanges? pending = null;
        foreach (var entry in db.ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified or EntityState.Deleted))
            {
                continue;
            }

            string? userId = entry.Entity switch
            {
                // A new account cannot be in any cache (only found persons are kept): nothing to announce.
                ApplicationUser when entry.State == EntityState.Added => null,
                ApplicationUser user => user.Id,
                RealNameRecord record => record.UserId,
                VerificationEvidence evidence => evidence.UserId,
                _ => null,
            };
            var everything = entry.Entity is PairwiseSubject && entry.State is not EntityState.Added;
            if (userId is null && !everything)
            {
                continue;
            }

            pending ??= Pending.GetValue(db, _ => new PendingChanges());
            lock (pending)
            {
                if (userId is not null)
                {
                    pending.UserIds.Add(userId);
                }

                pending.Everything |= everything;
            }
        }
    }

    private static Task FlushIfCommitted(DbContext? db) =>
        db is null || db.Database.CurrentTransaction is not null ? Task.CompletedTask : FlushAsync(db);

    private static async Task FlushAsync(DbContext? db)
    {
        if (db is null || !Pending.TryGetValue(db, out var pending))
        {
            return;
        }

        Pending.Remove(db);
        var services = db.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.ApplicationServiceProvider;
        if (services?.GetService<ClaimsPersonCache>() is { } cache)
        {
            string[] ids;
            bool everything;
            lock (pending)
            {
                ids = [.. pending.UserIds];
                everything = pending.Everything;
            }

            await cache.ChangedAsync(ids, everything);
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

    private sealed class PendingChanges
    {
        public HashSet<string> UserIds { get; } = new(StringComparer.Ordinal);

        public bool Everything { get; set; }
    }
}
