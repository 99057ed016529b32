using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace IdentityHub.Server.Scale;

/// <summary>
/// Cache entries in Redis, grouped in regions ("sessions"; "clients" uses only its generation) that each carry a generation number: an entry's
/// key holds the generation it was read under, and invalidating a region increments the generation, so every node's
/// next lookup misses at once. A reader that loaded from the database just before a change stores its stale copy under
/// the old generation, where nobody looks any more: no race between a change and a concurrent fill. When Redis
/// comes back after an outage every region is invalidated (this node may have changed data meanwhile without telling).
/// One round trip per lookup (a script reads the generation and the entry together).
/// </summary>
public sealed class SharedCache
{
    private const string GetScript = """
        local g = redis.call('GET', KEYS[1]) or '0'
        return { g, redis.call('GET', ARGV[1] .. g .. ':' .. ARGV[2]) }
        """;

    // Replaces an entry only while it still holds what the caller read (compare and set), keeping its expiry.
    private const string ReplaceScript = """
        local g = redis.call('GET', KEYS[1]) or '0'
        local k = ARGV[1] .. g .. ':' .. ARGV[2]
        if redis.call('GET', k) == ARGV[3] then
          redis.call('SET', k, ARGV[4], 'KEEPTTL')
          return 1
        end
        return 0
        """;

    // Stores an entry under the current generation whatever it held (the writer's own, authoritative value).
    private const string PutScript = """
        local g = redis.call('GET', KEYS[1]) or '0'
        redis.call('SET', ARGV[1] .. g .. ':' .. ARGV[2], ARGV[3], 'PX', ARGV[4])
        return 1
        """;

    private readonly RedisConnection _redis;
    private readonly TimeSpan _lifetime;
    /// <summary>SSO session states (<see cref="CachedSessionStore"/>).</summary>
    public const string Sessions = "sessions";

    /// <summary>
    /// Clients: no entries, only the generation, which every committed client change increments: the backstop of each
    /// node's in-memory <see cref="Registry.ClientCache"/> (<see cref="RedisClientChanges"/>).
    /// </summary>
    public const string Clients = "clients";

    /// <summary>
    /// Persons: no entries, only the generation, which every committed change of a person's claims increments and whose
    /// new value the change's signal carries: the backstop of each node's <see cref="Oidc.ClaimsPersonCache"/>
    /// (<see cref="RedisPersonChanges"/>).
    /// </summary>
    public const string Persons = "persons";

    private static readonly string[] Regions = [Sessions, Clients, Persons];

    public SharedCache(RedisConnection redis, IOptions<RedisOptions> options)
    {
        _redis = redis;
        _lifetime = options.Value.CacheLifetime;
        _redis.Restored += () => _ = InvalidateAllAsync();
    }

    /// <summary>A lookup's answer: the entry (null on a miss) and the generation it was read under (for <see cref="AddAsync"/>).</summary>
    public readonly record struct Lookup(string? Value, string? Generation);

    public async Task<Lookup> GetAsync(string region, string id)
    {
        return await _redis.TryAsync(async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(GetScript, [GenerationKey(region)], [EntryPrefix(region), id]))!;
            return new Lookup(result[1].IsNull ? null : (string?)result[1], (string?)result[0]);
        }, new Lookup(null, null));
    }

    /// <summary>Fills a miss, under the generation it was read under, unless someone filled it first.</summary>
    public Task AddAsync(string region, string generation, string id, string value) =>
        _redis.TryAsync(db => db.StringSetAsync(EntryPrefix(region) + generation + ":" + id, value, _lifetime, When.NotExists), false);

    /// <summary>Stores the writer's value (a session just ended) over whatever the entry held.</summary>
    public Task PutAsync(string region, string id, string value) =>
        _redis.TryAsync(async db =>
        {
            await db.ScriptEvaluateAsync(PutScript, [GenerationKey(region)],
                [EntryPrefix(region), id, value, (long)_lifetime.TotalMilliseconds]);
            return true;
        }, false);

    /// <summary>Replaces the entry only if it still holds <paramref name="expected"/>.</summary>
    public Task ReplaceAsync(string region, string id, string expected, string value) =>
        _redis.TryAsync(async db =>
        {
            await db.ScriptEvaluateAsync(ReplaceScript, [GenerationKey(region)], [EntryPrefix(region), id, expected, value]);
            return true;
        }, false);

    /// <summary>Drops one entry (the next lookup reads the database).</summary>
    public Task RemoveAsync(string region, string id) =>
        _redis.TryAsync(async db =>
        {
            var generation = (string?)await db.StringGetAsync(GenerationKey(region)) ?? "0";
            return await db.KeyDeleteAsync(EntryPrefix(region) + generation + ":" + id);
        }, false);

    /// <summary>The region's generation ("0" before the first invalidation), or null when Redis cannot be read.</summary>
    public Task<string?> GetGenerationAsync(string region) =>
        _redis.TryAsync(async db => (string?)await db.StringGetAsync(GenerationKey(region)) ?? "0", (string?)null);

    /// <summary>Every entry of the region is stale from now on, on every node. False when Redis could not be told.</summary>
    public async Task<bool> InvalidateAsync(string region)
    {
        return await _redis.TryAsync(async db =>
        {
            await db.StringIncrementAsync(GenerationKey(region));
            return true;
        }, false);
    }

    /// <summary>Increments the region's generation and returns the new value; null when Redis could not be told.</summary>
    public Task<long?> IncrementAsync(string region) =>
        _redis.TryAsync(async db => (long?)await db.StringIncrementAsync(GenerationKey(region)), (long?)null);

    private async Task InvalidateAllAsync()
    {
        foreach (var region in Regions)
        {
            await InvalidateAsync(region);
        }
    }

    private RedisKey GenerationKey(string region) => _redis.Key("cache:" + region + ":generation");

    private string EntryPrefix(string region) => _redis.Prefix + "cache:" + region + ":";
}
