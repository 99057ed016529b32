using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Identity;

/// <summary>
/// Bounds the password hashes that run at once (<see cref="AccountOptions.PasswordHashConcurrency"/>, by default the
/// number of processors). A PBKDF2-HMAC-SHA512 verification at 210,000 iterations is ~100 ms of CPU on the thread that
/// runs it; with many sign-ins at once, unbounded hashing blocks as many thread-pool threads, the pool injects more
/// (each with its stack), and the cores switch between hashes that all finish later. Behind the gate the waiting
/// sign-ins hold no thread, the cores run at most one hash each, and the rest of every request (pages, tokens) still
/// finds a free thread. Every verification waits the same way, so the time of an unknown account's equal-time hash
/// (<see cref="PasswordTimingEqualizer"/>) and a real one stay alike.
/// </summary>
public sealed class PasswordHashGate
{
    private readonly SemaphoreSlim _slots;
    private readonly UpDownCounter<long> _running;
    private readonly UpDownCounter<long> _waiting;
    private readonly Histogram<double> _cpuTime;
    private readonly Counter<long> _cpuTimeUnrecorded;

    public PasswordHashGate(IOptions<AccountOptions> options, IMeterFactory meters)
    {
        Concurrency = options.Value.PasswordHashConcurrency > 0 ? options.Value.PasswordHashConcurrency : Environment.ProcessorCount;
        _slots = new SemaphoreSlim(Concurrency, Concurrency);
        // The meter of Operations/HubMetrics ("IdentityHub"; the factory hands out the same meter for the same name).
        var meter = meters.Create("IdentityHub");
        _running = meter.CreateUpDownCounter<long>("identityhub.password_hashes.running", "{hash}",
            "Password hashes running now (at most Accounts:PasswordHashConcurrency).");
        _waiting = meter.CreateUpDownCounter<long>("identityhub.password_hashes.waiting", "{hash}",
            "Password hashes waiting for a slot.");
        // A histogram: its sum and count give the CPU time per hash (OpenTelemetry exports both).
        _cpuTime = meter.CreateHistogram<double>("identityhub.password_hashes.cpu_time", "s",
            "CPU time of each password hash on its thread (Linux: the thread's own CPU clock; not recorded elsewhere).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1] });
        // So that the histogram's count is known to be short rather than silently so.
        _cpuTimeUnrecorded = meter.CreateCounter<long>("identityhub.password_hashes.cpu_time_unrecorded", "{hash}",
            "Password hashes whose CPU time was not recorded (no thread CPU clock: not Linux, or 32-bit; or a verification that completed asynchronously, on another thread).");
    }

    /// <summary>Hashes allowed at once.</summary>
    public int Concurrency { get; }

    /// <summary>Runs <paramref name="hash"/> once a slot is free (waiting asynchronously), on the caller's thread.</summary>
    public async Task<T> RunAsync<T>(Func<T> hash, CancellationToken cancellationToken = default)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        var started = ThreadCpuClock.Now();
        try
        {
            return hash();
        }
        finally
        {
            Record(started);
            Leave();
        }
    }

    /// <summary>Awaits <paramref name="hash"/> (an asynchronous verification that hashes) once a slot is free.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> hash, CancellationToken cancellationToken = default)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        var started = ThreadCpuClock.Now();
        try
        {
            // Identity's verification completes synchronously (the hash is read from the loaded account): its thread's CPU
            // clock then covers the hash alone. Should it ever complete later, on another thread, no CPU time can be
            // attributed to it: it is counted as unrecorded instead.
            var verification = hash();
            Record(verification.IsCompleted ? started : null);

            return await verification.ConfigureAwait(false);
        }
        finally
        {
            Leave();
        }
    }

    private async Task EnterAsync(CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            _waiting.Add(1);
            try
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _waiting.Add(-1);
            }
        }

        _running.Add(1);
    }

    /// <summary>
    /// The hash's CPU time, so that a benchmark can tell the sign-in's other work from its hashing at full strength, where the
    /// host's hashing speed drifts (docs/benchmarks.md, "Sign-in, tenth session").
    /// </summary>
    private void Record(TimeSpan? started)
    {
        if (started is { } start && ThreadCpuClock.Now() is { } end && end >= start)
        {
            _cpuTime.Record((end - start).TotalSeconds);
        }
        else
        {
            _cpuTimeUnrecorded.Add(1);
        }
    }

    private void Leave()
    {
        // Counted down before the slot is free: "running" never shows more than the gate lets through.
        _running.Add(-1);
        _slots.Release();
    }
}
