using System.Diagnostics;
using System.Threading.RateLimiting;

namespace IdentityHub.Server.Security;

/// <summary>A fixed-window counter's value after an addition, and the time left in its window.</summary>
public readonly record struct WindowCount(long Count, TimeSpan Remaining);

/// <summary>
/// Fixed-window counters shared by every node (Redis in shared mode, see Scale/RedisWindowCounters). Null answers mean
/// "not available now": the caller then counts on this node alone. Single-node mode has none
/// (<see cref="NoWindowCounters"/>).
/// </summary>
public interface IWindowCounters
{
    /// <summary>Adds <paramref name="count"/> (zero only reads) to the counter of <paramref name="key"/>, whose window starts with its first addition.</summary>
    WindowCount? Add(string key, int count, TimeSpan window);
}

public sealed class NoWindowCounters : IWindowCounters
{
    public WindowCount? Add(string key, int count, TimeSpan window) => null;
}

/// <summary>
/// A fixed-window limiter whose count is shared by the nodes through <see cref="IWindowCounters"/>; while the shared
/// counters are unavailable it limits with this node's own fixed window (a node then admits at most the limit itself).
/// </summary>
public sealed class SharedWindowRateLimiter(string key, int permitLimit, TimeSpan window, IWindowCounters counters) : RateLimiter
{
    private readonly FixedWindowRateLimiter _local = new(new FixedWindowRateLimiterOptions
    {
        PermitLimit = permitLimit,
        Window = window,
        QueueLimit = 0,
    });

    private long _lastUsed = Stopwatch.GetTimestamp();

    public override TimeSpan? IdleDuration => Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastUsed));

    public override RateLimiterStatistics? GetStatistics() => _local.GetStatistics();

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        Interlocked.Exchange(ref _lastUsed, Stopwatch.GetTimestamp());
        if (counters.Add(key, permitCount, window) is not { } shared)
        {
            return _local.AttemptAcquire(permitCount);
        }

        var admitted = permitCount == 0 ? shared.Count < permitLimit : shared.Count <= permitLimit;
        return admitted ? SharedLease.Acquired : new SharedLease(false, shared.Remaining);
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _local.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed class SharedLease(bool acquired, TimeSpan retryAfter) : RateLimitLease
    {
        public static readonly SharedLease Acquired = new(true, TimeSpan.Zero);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => acquired ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (!acquired && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = retryAfter;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
