using System.Diagnostics;
using System.Threading.Channels;
using IdentityHub.Server.Data;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Audit;

/// <summary>
/// Group commit for events without a state change of ours. Requests put their events on an in-process channel
/// and await them; one loop takes whatever has queued (up to Audit:MaxBatchSize), seals and inserts it in one
/// transaction and completes every waiter when it has committed. While one batch commits the next fills up, so
/// the cost of a commit is shared by all the requests waiting on it. A request is answered only after its
/// batch is durable: an event of an acknowledged operation is never lost; a crash loses only events of requests
/// that never got an answer. With fewer than Audit:BatchLingerBelow events queued it can first wait Audit:BatchLinger
/// for more (default zero: no wait). The loop also appends a signed checkpoint every Audit:CheckpointInterval.
/// On SQLite a batch is appended on the writer's own connection with prepared statements (<see cref="SqliteAuditAppender"/>),
/// elsewhere through a pooled context.
/// </summary>
public sealed partial class AuditWriter(
    IServiceScopeFactory scopes,
    AuditChain chain,
    SqliteAuditAppender sqlite,
    IOptions<AuditOptions> options,
    TimeProvider clock,
    IHostApplicationLifetime lifetime,
    System.Diagnostics.Metrics.IMeterFactory meters,
    ILogger<AuditWriter> logger) : IHostedService
{
    private sealed record Pending(IReadOnlyList<AuditEvent> Events, TaskCompletionSource Done)
    {
        /// <summary>When the write was queued (Stopwatch ticks): its wait until acknowledged (<see cref="AuditWriter"/>'s metrics).</summary>
        public long Queued { get; } = Stopwatch.GetTimestamp();
    }

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(
        new BoundedChannelOptions(20_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private Task? _loop;
    private DateTime _lastCheckpoint = DateTime.MinValue;
    private long _batches;
    private long _events;
    private Exception? _stopped;

    /// <summary>Group commits of requests' events since start (checkpoint-only commits not counted).</summary>
    public long BatchesCommitted => Interlocked.Read(ref _batches);

    /// <summary>Requests' events committed since start (checkpoint rows not counted).</summary>
    public long EventsCommitted => Interlocked.Read(ref _events);

    /// <summary>Returns when the events are committed; throws if their batch failed.</summary>
    public async Task WriteAsync(IReadOnlyList<AuditEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        var pending = new Pending(events, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_loop is null || !await EnqueueAsync(pending))
        {
            // Not running (a command-line job) or shutting down: commit these alone.
            await CommitAsync([pending], checkpoint: false);
        }

        await pending.Done.Task;
    }

    /// <summary>Appends a checkpoint now (start-up, shutdown, commands).</summary>
    public Task CheckpointAsync() => CommitAsync([], checkpoint: true);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        RegisterMetrics(meters);
        _loop = Task.Run(RunAsync, CancellationToken.None);
        // Hosted services stop before Kestrel drains its requests: keep committing until the host has stopped.
        lifetime.ApplicationStopped.Register(() => DrainAsync().Wait(TimeSpan.FromSeconds(30)));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops taking events, commits what is queued and the final checkpoint. The host does it when it has stopped;
    /// a command that started the loop itself (audit-ingest-benchmark) calls it before it ends.
    /// </summary>
    public Task DrainAsync()
    {
        _queue.Writer.TryComplete();
        return _loop ?? Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<bool> EnqueueAsync(Pending pending)
    {
        try
        {
            while (await _queue.Writer.WaitToWriteAsync())
            {
                if (_queue.Writer.TryWrite(pending))
                {
                    return true;
                }
            }
        }
        catch (Exception) when (Volatile.Read(ref _stopped) is not null)
        {
            // The loop died (Stopped): the channel was completed with its error, which WaitToWriteAsync rethrows.
        }

        return false;
    }

    private async Task RunAsync()
    {
        // The batch in flight, refilled by each turn of the loop: failed with the rest should the loop die.
        var batch = new List<Pending>();
        try
        {
            await LoopAsync(batch);
        }
        catch (Exception e)
        {
            Stopped(e, batch);
        }
    }

    private async Task LoopAsync(List<Pending> batch)
    {
        var reader = _queue.Reader;
        var max = Math.Max(1, options.Value.MaxBatchSize);
        Task<bool>? wait = null;
        while (true)
        {
            wait ??= reader.WaitToReadAsync().AsTask();
            if (!wait.IsCompleted)
            {
                await Task.WhenAny(wait, Task.Delay(UntilNextCheckpoint()));
                if (!wait.IsCompleted)
                {
                    if (CheckpointDue())
                    {
                        await TryCheckpointAsync();
                    }

                    continue;
                }
            }

            var more = await wait;
            wait = null;
            if (!more)
            {
                break;
            }

            var started = Stopwatch.GetTimestamp();
            batch.Clear();
            var count = Drain(reader, batch, 0, max);
            var linger = options.Value.BatchLinger;
            if (linger > TimeSpan.Zero && count < Math.Min(max, options.Value.BatchLingerBelow))
            {
                // A short wait for a fuller batch: each commit costs a transaction, the head lock and a COPY set-up.
                await Task.Delay(linger);
                count = Drain(reader, batch, count, max);
            }

            await CommitAsync(batch, CheckpointDue(pendingEvents: count), started);
        }

        if (chain.AppendedSinceCheckpoint > 0)
        {
            await TryCheckpointAsync();
        }
    }

    /// <summary>
    /// The loop ended with an exception (a bug, not a failed batch: CommitAsync answers those): no request may wait for it
    /// forever. The channel is completed with the error, so that later writes commit inline (<see cref="EnqueueAsync"/>
    /// returns false), and every write taken off the queue or still queued fails.
    /// </summary>
    private void Stopped(Exception error, List<Pending> batch)
    {
        Volatile.Write(ref _stopped, error);
        logger.LogCritical(error, "The audit group commit stopped; requests' audit events are now committed one write at a time");
        _queue.Writer.TryComplete(error);
        foreach (var pending in batch)
        {
            pending.Done.TrySetException(error);
        }

        while (_queue.Reader.TryRead(out var pending))
        {
            pending.Done.TrySetException(error);
        }
    }

    private static int Drain(ChannelReader<Pending> reader, List<Pending> batch, int count, int max)
    {
        while (count < max && reader.TryRead(out var pending))
        {
            batch.Add(pending);
            count += pending.Events.Count;
        }

        return count;
    }

    private async Task TryCheckpointAsync()
    {
        try
        {
            await CommitAsync([], checkpoint: true);
        }
        catch (Exception e)
        {
            // Logged by CommitAsync; the next tick tries again (the database may be restarting).
            logger.LogDebug(e, "Checkpoint postponed");
        }
    }

    private bool CheckpointDue(int pendingEvents = 0) =>
        (pendingEvents > 0 || chain.AppendedSinceCheckpoint > 0) && clock.GetUtcNow().UtcDateTime - _lastCheckpoint >= options.Value.CheckpointInterval;

    private TimeSpan UntilNextCheckpoint()
    {
        var interval = options.Value.CheckpointInterval;
        var left = _lastCheckpoint + interval - clock.GetUtcNow().UtcDateTime;
        // Wake at least every interval (minimum one second) to sign rows other writers appended meanwhile.
        return left > TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(Math.Max(1, interval.TotalSeconds));
    }

    private async Task AppendAsync(List<AuditEvent> events)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        // In this process's turn (AuditChain.EnterOrderAsync): the transactions the audit interceptor begins take turns
        // with this loop, so that neither finds the head moved by the other.
        var turn = await chain.EnterOrderAsync(CancellationToken.None);
        try
        {
            // PostgreSQL: the head's move and the rows in one statement (one round trip, its own transaction); when
            // that cannot be (no head known yet, a large batch, the head moved meanwhile: nothing written), the
            // transaction of BEGIN, the head's update (or its lock), COPY and COMMIT.
            if (await chain.TryAppendAsync(db, events, CancellationToken.None) is null)
            {
                await using var transaction = await db.Database.BeginTransactionAsync();
                var head = await chain.SealAsync(db, events, CancellationToken.None);
                await AuditBatchInsert.InsertAsync(db, events, CancellationToken.None);
                await transaction.CommitAsync(CancellationToken.None);
                chain.Committed(head);
            }
        }
        finally
        {
            if (turn)
            {
                chain.ExitOrder();
            }
        }
    }

    /// <param name="started">When the loop took the batch off the queue (Stopwatch ticks); null: now (a write committed inline).</param>
    private async Task CommitAsync(IReadOnlyList<Pending> batch, bool checkpoint, long? started = null)
    {
        var taken = started ?? Stopwatch.GetTimestamp();
        var count = checkpoint ? 1 : 0;
        foreach (var pending in batch)
        {
            count += pending.Events.Count;
        }

        var events = new List<AuditEvent>(count);
        foreach (var pending in batch)
        {
            events.AddRange(pending.Events);
        }

        if (checkpoint)
        {
            events.Add(chain.NewCheckpoint());
        }

        if (events.Count == 0)
        {
            return;
        }

        try
        {
            if (sqlite.IsAvailable)
            {
                // SQLite: on the writer's own connection with prepared statements (SqliteAuditAppender).
                await sqlite.AppendAsync(events);
            }
            else
            {
                await AppendAsync(events);
            }

            if (checkpoint)
            {
                _lastCheckpoint = clock.GetUtcNow().UtcDateTime;
            }

            if (batch.Count > 0)
            {
                Interlocked.Increment(ref _batches);
                Interlocked.Add(ref _events, events.Count - (checkpoint ? 1 : 0));
                Measured(batch, taken);
            }

            foreach (var pending in batch)
            {
                pending.Done.TrySetResult();
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "An audit batch of {Count} events was not committed", events.Count);
            chain.NotCommitted(events.Count);
            foreach (var pending in batch)
            {
                pending.Done.TrySetException(e);
            }

            if (batch.Count == 0)
            {
                throw;
            }
        }
    }
}
