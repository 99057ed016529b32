using System.Collections.Concurrent;

namespace IdentityHub.Server.Verification.Resilience;

/// <summary>
/// Stops calling an authority that keeps failing: after <c>threshold</c> consecutive timeouts or provider
/// errors the circuit opens for <c>breakDuration</c> (calls are refused at once, nothing is billed, the
/// fallback provider answers if one is configured); then one trial call is let through, and its result
/// closes or reopens the circuit. Per server node.
/// </summary>
public sealed class CircuitBreaker(int threshold, TimeSpan breakDuration, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private int _consecutiveFailures;
    private DateTimeOffset _openUntil = DateTimeOffset.MinValue;
    private bool _trialInFlight;

    public bool IsOpen
    {
        get
        {
            lock (_gate)
            {
                return _consecutiveFailures >= threshold && (clock.GetUtcNow() < _openUntil || _trialInFlight);
            }
        }
    }

    /// <summary>Whether a call may go out now (a half-open circuit lets exactly one through).</summary>
    public bool TryAcquire()
    {
        lock (_gate)
        {
            if (_consecutiveFailures < threshold)
            {
                return true;
            }

            if (clock.GetUtcNow() < _openUntil || _trialInFlight)
            {
                return false;
            }

            _trialInFlight = true;
            return true;
        }
    }

    public void Record(bool failure)
    {
        lock (_gate)
        {
            _trialInFlight = false;
            _consecutiveFailures = failure ? _consecutiveFailures + 1 : 0;
            if (_consecutiveFailures >= threshold)
            {
                _openUntil = clock.GetUtcNow() + breakDuration;
            }
        }
    }
}

/// <summary>One breaker per provider, for the life of the process.</summary>
public sealed class CircuitBreakers(TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, CircuitBreaker> _breakers = new(StringComparer.Ordinal);

    public CircuitBreaker For(string provider, AuthorityOptions options) =>
        _breakers.GetOrAdd(provider, _ => new CircuitBreaker(options.BreakAfterFailures, options.BreakDuration, clock));
}
