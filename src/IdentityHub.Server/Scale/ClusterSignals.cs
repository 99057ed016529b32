using System.Collections.Concurrent;

namespace IdentityHub.Server.Scale;

/// <summary>
/// Named signals every node hears at once ("signing-keys": reload the keys now). One node: delivered in process
/// (<see cref="LocalClusterSignals"/>); shared mode: Redis publish/subscribe (<see cref="RedisClusterSignals"/>).
/// Signals only hasten what each node also does on its own schedule, so a lost signal delays, never breaks.
/// A signal may carry a short argument (which persons changed, <see cref="Oidc.ClaimsPersonCache"/>): on the channel it
/// is the signal's name, a line feed and the argument. Nothing personal in an argument (ids only).
/// </summary>
public interface IClusterSignals
{
    Task PublishAsync(string signal);

    /// <summary>The signal with an argument; subscribers of the plain signal hear it too.</summary>
    Task PublishAsync(string signal, string argument);

    IDisposable Subscribe(string signal, Action handler);

    /// <summary>Hears the signal with its argument (empty when it was published without one).</summary>
    IDisposable Subscribe(string signal, Action<string> handler);
}

public class LocalClusterSignals : IClusterSignals
{
    private const char ArgumentSeparator = '\n';

    private readonly ConcurrentDictionary<Guid, (string Signal, Action<string> Handler)> _handlers = new();

    public virtual Task PublishAsync(string signal)
    {
        Deliver(signal);
        return Task.CompletedTask;
    }

    public Task PublishAsync(string signal, string argument) => PublishAsync(signal + ArgumentSeparator + argument);

    public IDisposable Subscribe(string signal, Action handler) => Subscribe(signal, _ => handler());

    public IDisposable Subscribe(string signal, Action<string> handler)
    {
        var id = Guid.NewGuid();
        _handlers[id] = (signal, handler);
        return new Subscription(() => _handlers.TryRemove(id, out _));
    }

    protected void Deliver(string message)
    {
        var separator = message.IndexOf(ArgumentSeparator, StringComparison.Ordinal);
        var signal = separator < 0 ? message : message[..separator];
        var argument = separator < 0 ? string.Empty : message[(separator + 1)..];
        foreach (var (name, handler) in _handlers.Values)
        {
            if (name == signal)
            {
                handler(argument);
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
