using System.Collections.Concurrent;

namespace IdentityHub.Server.Scale;

/// <summary>
/// Named signals every node hears at once ("signing-keys": reload the keys now). One node: delivered in process
/// (<see cref="LocalClusterSignals"/>); shared mode: Redis publish/subscribe (<see cref="RedisClusterSignals"/>).
/// Signals only hasten what each node also does on its own schedule, so a lost signal delays, never breaks.
/// </summary>
public interface IClusterSignals
{
    Task PublishAsync(string signal);

    IDisposable Subscribe(string signal, Action handler);
}

public class LocalClusterSignals : IClusterSignals
{
    private readonly ConcurrentDictionary<Guid, (string Signal, Action Handler)> _handlers = new();

    public virtual Task PublishAsync(string signal)
    {
        Deliver(signal);
        return Task.CompletedTask;
    }

    public IDisposable Subscribe(string signal, Action handler)
    {
        var id = Guid.NewGuid();
        _handlers[id] = (signal, handler);
        return new Subscription(() => _handlers.TryRemove(id, out _));
    }

    protected void Deliver(string signal)
    {
        foreach (var (name, handler) in _handlers.Values)
        {
            if (name == signal)
            {
                handler();
            }
        }
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}

/// <summary>Signals through one Redis channel; this node hears its own too. While Redis is away, only this node hears them.</summary>
public sealed class RedisClusterSignals : LocalClusterSignals
{
    private readonly RedisConnection _redis;

    public RedisClusterSignals(RedisConnection redis)
    {
        _redis = redis;
        // Subscribed once; StackExchange.Redis subscribes again by itself after a reconnection.
        _ = redis.Subscriber.SubscribeAsync(redis.Channel("signals"), (_, message) => Deliver(message.ToString()))
            .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
    }

    public override async Task PublishAsync(string signal)
    {
        var published = await _redis.TryAsync(async _ =>
        {
            await _redis.Subscriber.PublishAsync(_redis.Channel("signals"), signal);
            return true;
        }, false);
        if (!published)
        {
            Deliver(signal);
        }
    }
}
