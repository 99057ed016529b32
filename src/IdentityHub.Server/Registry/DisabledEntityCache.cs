using System.Collections.Immutable;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Registry;

/// <summary>
/// OpenIddict's entity caches with entity caching disabled (RegistryExtensions: ClientCache replaces it). OpenIddict
/// still builds its default cache, and with it a new MemoryCache, for every manager a request resolves (the token
/// endpoint resolves the scope and token managers on every request, for nothing): this one is a stateless singleton.
/// Every call OpenIddict's managers make into their cache is guarded by <c>DisableEntityCaching</c>, so nothing calls
/// it; a lookup would be a bug and fails loudly rather than answering "not found".
/// </summary>
public sealed class DisabledEntityCache<TEntity> :
    IOpenIddictApplicationCache<TEntity>, IOpenIddictAuthorizationCache<TEntity>, IOpenIddictScopeCache<TEntity>, IOpenIddictTokenCache<TEntity>
    where TEntity : class
{
    public ValueTask AddAsync(TEntity entity, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask RemoveAsync(TEntity entity, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<TEntity?> FindByIdAsync(string identifier, CancellationToken cancellationToken) => throw Disabled();

    public ValueTask<TEntity?> FindByClientIdAsync(string identifier, CancellationToken cancellationToken) => throw Disabled();

    public IAsyncEnumerable<TEntity> FindByPostLogoutRedirectUriAsync(string uri, CancellationToken cancellationToken) => throw Disabled();

    public IAsyncEnumerable<TEntity> FindByRedirectUriAsync(string uri, CancellationToken cancellationToken) => throw Disabled();

    public IAsyncEnumerable<TEntity> FindAsync(string? subject, string? client, string? status, string? type, ImmutableArray<string>? scopes,
        CancellationToken cancellationToken) => throw Disabled();

    public IAsyncEnumerable<TEntity> FindAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken)
        => throw Disabled();

    public IAsyncEnumerable<TEntity> FindByApplicationIdAsync(string identifier, CancellationToken cancellationToken) => throw Disabled();

    public IAsyncEnumerable<TEntity> FindByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken) => throw Disabled();

    public IAsyncEnumerable<TEntity> FindBySubjectAsync(string subject, CancellationToken cancellationToken) => throw Disabled();

    public ValueTask<TEntity?> FindByReferenceIdAsync(string identifier, CancellationToken cancellationToken) => throw Disabled();

    public ValueTask<TEntity?> FindByNameAsync(string name, CancellationToken cancellationToken) => throw Disabled();

    public IAsyncEnumerable<TEntity> FindByNamesAsync(ImmutableArray<string> names, CancellationToken cancellationToken) => throw Disabled();

    public IAsyncEnumerable<TEntity> FindByResourceAsync(string resource, CancellationToken cancellationToken) => throw Disabled();

    private static InvalidOperationException Disabled() =>
        new("OpenIddict's entity cache is disabled (DisableEntityCaching): ClientCache serves the registry.");
}
