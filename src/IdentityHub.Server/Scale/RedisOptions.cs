namespace IdentityHub.Server.Scale;

/// <summary>
/// Section "Redis". Setting <see cref="Configuration"/> switches the node to shared mode: SSO session and client
/// lookups cached in Redis, rate-limit counters shared, and signals (signing keys changed) published to every node.
/// Redis holds nothing that cannot be lost: the database stays the source of truth, and a node that loses Redis
/// keeps serving from the database and its own counters (see docs/deployment.md).
/// </summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis connection string ("host:6379,password=...,ssl=true"); empty: single-node mode.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key and channel, so that several deployments may share one Redis. Default "identityhub:".</summary>
    public string KeyPrefix { get; set; } = "identityhub:";

    /// <summary>
    /// The longest a request waits for Redis (connect, command) before it falls back to the database and this node's
    /// own counters: the grace of a Redis failure. Default 1 second.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a cached session or client lookup lives at most (a safety net: changes invalidate at once). Default 1 minute.</summary>
    public TimeSpan CacheLifetime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the connection retries after Redis went away. Default 1 second.</summary>
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromSeconds(1);

    public bool Enabled => !string.IsNullOrWhiteSpace(Configuration);

    public static bool IsEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration.GetSection(Section)[nameof(Configuration)]);
}
