using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Empties the entries of <see cref="ClaimsPersonCache"/> (this node's at once, the other nodes' through
/// <see cref="IPersonChangeFeed"/>) of every account whose claims may have changed, after the change is committed: after
/// the SaveChanges without a transaction, or after the commit of the transaction it ran in, before the request that made
/// the change answers (<see cref="AfterCommitInterceptor{TPending}"/>). What counts: any changed or
/// deleted account row (user name, display name, e-mail, phone and their confirmation, assurance level, lockout, stamps,
/// deletion: whatever the property), any added, changed or deleted real-name record or verification evidence; a changed or deleted pairwise subject
/// (never done today) empties everything. The ids are read before the save (a deleted entity is detached after it).
/// Changes made with ExecuteUpdate, ExecuteDelete or raw SQL bypass it: nothing makes such changes to these tables.
/// </summary>
public sealed class PersonChangeInterceptor : AfterCommitInterceptor<PersonChangeInterceptor.PendingChanges>
{
    protected override PendingChanges? Note(DbContext db, PendingChanges? pending)
    {
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

            pending ??= new PendingChanges();
            lock (pending)
            {
                if (userId is not null)
                {
                    pending.UserIds.Add(userId);
                }

                pending.Everything |= everything;
            }
        }

        return pending;
    }

    protected override Task FlushAsync(IServiceProvider services, PendingChanges pending)
    {
        if (services.GetService<ClaimsPersonCache>() is not { } cache)
        {
            return Task.CompletedTask;
        }

        string[] ids;
        bool everything;
        lock (pending)
        {
            ids = [.. pending.UserIds];
            everything = pending.Everything;
        }

        return cache.ChangedAsync(ids, everything);
    }

    /// <summary>The accounts noted for one context until its commit (or everything).</summary>
    public sealed class PendingChanges
    {
        public HashSet<string> UserIds { get; } = new(StringComparer.Ordinal);

        public bool Everything { get; set; }
    }
}
