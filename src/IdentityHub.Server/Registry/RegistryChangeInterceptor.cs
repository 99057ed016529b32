using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Registry;

/// <summary>
/// Empties the client cache (<see cref="ClientCache"/>: this node's at once, the other nodes' through
/// <see cref="IClientChangeFeed"/>) after a change to a client (OpenIddict application, through the registry or
/// OpenIddict's managers), a client secret or a department is committed: after the SaveChanges without a transaction,
/// or after the commit of the transaction it ran in, before the request that made the change answers
/// (<see cref="AfterCommitInterceptor{TPending}"/>). Changes made with ExecuteUpdate or ExecuteDelete bypass it: the
/// registry makes none to these tables.
/// </summary>
public sealed class RegistryChangeInterceptor : AfterCommitInterceptor<RegistryChangeInterceptor.Changed>
{
    protected override Changed? Note(DbContext db, Changed? pending) =>
        pending ?? (db.ChangeTracker.Entries().Any(e =>
            e.State is EntityState.Added or EntityState.Modified or EntityState.Deleted
            && e.Entity is HubApplication or Department or ClientSecretEntry) ? Changed.Instance : null);

    protected override Task FlushAsync(IServiceProvider services, Changed pending) =>
        services.GetService<ClientCache>() is { } cache ? cache.ChangedAsync() : Task.CompletedTask;

    /// <summary>Some client, secret or department changed (the whole cache is emptied).</summary>
    public sealed class Changed
    {
        public static readonly Changed Instance = new();
    }
}
