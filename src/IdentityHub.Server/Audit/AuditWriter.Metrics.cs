using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace IdentityHub.Server.Audit;

// The group commit's own figures, as observable counters of the "IdentityHub" meter (dotnet-counters: --counters IdentityHub):
// how many group commits and events, how long the writer had a batch in flight, and how long the writes waited, queued and
// in all, for their acknowledgement. Rates over a window give a batch's mean size and duration, the writer's busy share, and
// a write's mean wait (docs/benchmarks.md, "Client credentials, tenth session").
public sealed partial class AuditWriter
{
    private long _busyTicks;
    private long _writes;
    private long _queuedTicks;
    private long _ackTicks;

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;

    /// <summary>Registers the counters on the "IdentityHub" meter (once, when the loop starts).</summary>
    private void RegisterMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(Operations.HubMetrics.MeterName);
        meter.CreateObservableCounter("identityhub.audit.group_commits", () => Interlocked.Read(ref _batches), "{commit}",
            "Group commits of requests' audit events (AuditWriter; a write committed inline, the loop not running, counts as one).");
        meter.CreateObservableCounter("identityhub.audit.group_commit.events", () => Interlocked.Read(ref _events), "{event}",
            "Requests' audit events committed by group commits.");
        meter.CreateObservableCounter("identityhub.audit.group_commit.writes", () => Interlocked.Read(ref _writes), "{write}",
            "Acknowledged writes (one per request that waited for its events).");
        meter.CreateObservableCounter("identityhub.audit.group_commit.busy_time", () => Seconds(Interlocked.Read(ref _busyTicks)), "s",
            "Time the writer had a group commit in flight (from taking its events off the queue, Audit:BatchLinger's wait included, to acknowledging them).");
        meter.CreateObservableCounter("identityhub.audit.group_commit.queued_time", () => Seconds(Interlocked.Read(ref _queuedTicks)), "s",
            "Sum over the writes of their time in the queue before their group commit took them off it.");
        meter.CreateObservableCounter("identityhub.audit.group_commit.ack_time", () => Seconds(Interlocked.Read(ref _ackTicks)), "s",
            "Sum over the writes of their time from being queued to being acknowledged.");
    }

    /// <summary>A group commit's figures (only those of requests' events: a checkpoint alone is not a group commit).</summary>
    private void Measured(IReadOnlyList<Pending> batch, long started)
    {
        var now = Stopwatch.GetTimestamp();
        long queued = 0, ack = 0;
        foreach (var pending in batch)
        {
            queued += Math.Max(0, started - pending.Queued);
            ack += now - pending.Queued;
        }

        Interlocked.Add(ref _busyTicks, now - started);
        Interlocked.Add(ref _writes, batch.Count);
        Interlocked.Add(ref _queuedTicks, queued);
        Interlocked.Add(ref _ackTicks, ack);
    }
}
