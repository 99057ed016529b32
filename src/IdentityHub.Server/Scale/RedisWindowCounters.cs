using IdentityHub.Server.Security;
using StackExchange.Redis;

namespace IdentityHub.Server.Scale;

/// <summary>Rate-limit and failure counters in Redis: one atomic script per addition (increment, start the window on first use).</summary>
public sealed class RedisWindowCounters(RedisConnection redis) : IWindowCounters
{
    private const string AddScript = """
        local c = redis.call('INCRBY', KEYS[1], ARGV[1])
        local t = redis.call('PTTL', KEYS[1])
        if t < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          t = tonumber(ARGV[2])
        end
        return { c, t }
        """;

    public WindowCount? Add(string key, int count, TimeSpan window) =>
        redis.Try<WindowCount?>(db =>
        {
            var result = (RedisResult[])db.ScriptEvaluate(AddScript, [redis.Key("rate:" + key)], [count, (long)window.TotalMilliseconds])!;
            return new WindowCount((long)result[0], TimeSpan.FromMilliseconds((long)result[1]));
        }, null);
}
