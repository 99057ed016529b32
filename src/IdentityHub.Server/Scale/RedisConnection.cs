using StackExchange.Redis;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Scale;

/// <summary>
/// The node's one connection to Redis. It never blocks the node on Redis: the connection is made in the background
/// (a node starts while Redis is down), commands fail at once while disconnected (no backlog), and each command
/// waits at most <see cref="RedisOptions.OperationTimeout"/>. Callers catch <see cref="RedisException"/> through
/// <see cref="TryAsync{T}"/> and fall back to the database or local state; the first failure of an outage and the
/// recovery are logged once each (no key, no personal data).
/// </summary>
public sealed class RedisConnection : IDisposable
{
    private readonly ConnectionMultiplexer _multiplexer;
    private readonly ILogger<RedisConnection> _logger;
    private int _degraded;

    public RedisConnection(IOptions<RedisOptions> options, ILogger<RedisConnection> logger)
    {
        _logger = logger;
        var settings = options.Value;
        Prefix = settings.KeyPrefix;
        var configuration = ConfigurationOptions.Parse(settings.Configuration!);
        var timeout = (int)settings.OperationTimeout.TotalMilliseconds;
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = timeout;
        configuration.SyncTimeout = timeout;
        configuration.AsyncTimeout = timeout;
        configuration.ConnectRetry = 1;
        configuration.ReconnectRetryPolicy = new LinearRetry((int)settings.ReconnectInterval.TotalMilliseconds);
        configuration.ClientName ??= "identityhub";
        _multiplexer = ConnectionMultiplexer.Connect(configuration);
        _multiplexer.ConnectionFailed += (_, e) => MarkDegraded(e.FailureType.ToString());
        _multiplexer.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                MarkRestored();
            }
        };
        if (!_multiplexer.IsConnected)
        {
            MarkDegraded("not connected at start");
        }
    }

    /// <summary>Raised once Redis is reachable again after an outage: whatever was cached before may be stale.</summary>
    public event Action? Restored;

    public string Prefix { get; }

    public bool IsConnected => _multiplexer.IsConnected;

    /// <summary>True from the first failure of an outage until the connection is restored.</summary>
    public bool IsDegraded => Volatile.Read(ref _degraded) == 1;

    public IDatabase Database => _multiplexer.GetDatabase();

    public ISubscriber Subscriber => _multiplexer.GetSubscriber();

    public RedisKey Key(string name) => Prefix + name;

    public RedisChannel Channel(string name) => RedisChannel.Literal(Prefix + name);

    /// <summary>Runs a Redis operation; on any Redis failure (down, timeout) logs the outage once and returns <paramref name="fallback"/>.</summary>
    public async Task<T> TryAsync<T>(Func<IDatabase, Task<T>> operation, T fallback)
    {
        if (!Connected())
        {
            return fallback;
        }

        try
        {
            return Succeeded(await operation(_multiplexer.GetDatabase()));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            MarkDegraded(e.GetType().Name);
            return fallback;
        }
    }

    /// <summary>The synchronous form, for callers whose API is synchronous (rate limiters).</summary>
    public T Try<T>(Func<IDatabase, T> operation, T fallback)
    {
        if (!Connected())
        {
            return fallback;
        }

        try
        {
            return Succeeded(operation(_multiplexer.GetDatabase()));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            MarkDegraded(e.GetType().Name);
            return fallback;
        }
    }

    private bool Connected()
    {
        if (_multiplexer.IsConnected)
        {
            return true;
        }

        MarkDegraded("not connected");
        return false;
    }

    private T Succeeded<T>(T result)
    {
        if (IsDegraded)
        {
            MarkRestored();
        }

        return result;
    }

    private void MarkDegraded(string reason)
    {
        if (Interlocked.Exchange(ref _degraded, 1) == 0)
        {
            _logger.LogWarning(
                "Redis unavailable ({Reason}): this node serves from the database and its own rate-limit counters until Redis returns",
                reason);
        }
    }

    private void MarkRestored()
    {
        if (Interlocked.Exchange(ref _degraded, 0) == 1)
        {
            _logger.LogInformation("Redis reachable again: shared caches and counters in use");
            Restored?.Invoke();
        }
    }

    public void Dispose() => _multiplexer.Dispose();
}
