using IdentityHub.Server.Oidc;

namespace IdentityHub.Server.Scale;

/// <summary>
/// Shared mode's <see cref="IPersonChangeFeed"/>: a committed change of persons increments the generation of the "persons"
/// region in Redis (<see cref="SharedCache"/>) and publishes the "persons" signal (<see cref="IClusterSignals"/>) with the new
/// generation and the account ids (no personal data), which every node hears within milliseconds and empties those
/// entries of its <see cref="ClaimsPersonCache"/>. The generation is the backstop: each node reads it at most once per
/// PersonCache:CheckInterval and empties its whole cache when a generation since its last check was not announced to it,
/// or when Redis cannot be read. When Redis returns after an outage, <see cref="SharedCache"/> increments every region's
/// generation (so every node empties its cache once).
/// </summary>
public sealed class RedisPersonChanges(SharedCache cache, IClusterSignals signals) : IPersonChangeFeed
{
    public const string Signal = "persons";

    public bool IsShared => true;

    public async Task PublishAsync(IReadOnlyCollection<string> userIds, bool everything)
    {
        if (userIds.Count == 0 && !everything)
        {
            return;
        }

        var generation = await cache.IncrementAsync(SharedCache.Persons);
        await signals.PublishAsync(Signal, ClaimsPersonCache.Format(generation, userIds, everything));
    }

    public async Task<long?> ReadGenerationAsync() =>
        await cache.GetGenerationAsync(SharedCache.Persons) is { } generation
        && long.TryParse(generation, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    public IDisposable Subscribe(Action<PersonChange> changed) => signals.Subscribe(Signal, argument => changed(ClaimsPersonCache.Parse(argument)));
}
