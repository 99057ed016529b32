using IdentityHub.Server.Registry;

namespace IdentityHub.Server.Scale;

/// <summary>
/// Shared mode's <see cref="IClientChangeFeed"/>: a committed client change increments the generation of the "clients"
/// region in Redis (<see cref="SharedCache"/>) and publishes the "clients" signal (<see cref="IClusterSignals"/>), which
/// every node hears within milliseconds and empties its <see cref="ClientCache"/>. The generation is the backstop: each
/// node reads it at most once per Registry:ClientCacheCheckInterval and empties its cache when it moved, or when Redis
/// cannot be read (a change made meanwhile may not have been announced). When Redis returns after an outage,
/// <see cref="SharedCache"/> increments every region's generation.
/// </summary>
public sealed class RedisClientChanges(SharedCache cache, IClusterSignals signals) : IClientChangeFeed
{
    public const string Signal = "clients";

    public bool IsShared => true;

    public async Task PublishAsync()
    {
        await cache.InvalidateAsync(SharedCache.Clients);
        await signals.PublishAsync(Signal);
    }

    public Task<string?> ReadGenerationAsync() => cache.GetGenerationAsync(SharedCache.Clients);

    public IDisposable Subscribe(Action changed) => signals.Subscribe(Signal, changed);
}
