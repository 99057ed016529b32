namespace IdentityHub.Server.Audit;

/// <summary>Section "Audit". Defaults are stated on each property.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>
    /// This server's chain (each node keeps its own hash chain). Default: the machine name. Two processes may share
    /// one node id (they then take turns on its chain); distinct ids let nodes append in parallel.
    /// </summary>
    public string? NodeId { get; set; }

    /// <summary>Most events one group commit writes. Default 1,000.</summary>
    public int MaxBatchSize { get; set; } = 1_000;

    /// <summary>
    /// When a group commit would start with fewer than <see cref="BatchLingerBelow"/> events queued, the writer waits
    /// this long for more before it commits, so that a busy server shares each transaction, chain-head lock and COPY
    /// among more events. It adds at most this much to an event's acknowledgement. Default zero: commit at once. Requests
    /// wait for their event's commit, so while the writer lingers the waiting requests' clients send nothing new: the
    /// events that queue up during one commit already share the next (as PostgreSQL's own commit_delay, off by default).
    /// Measured on 2 cores with 32 clients (docs/benchmarks.md): a 2 ms linger cut client credentials from 2,750 to
    /// 2,370 tokens/s and userinfo from 3,588 to 2,793/s, for less PostgreSQL CPU. It can help an open stream of
    /// independent events on a database whose commits are dear (slow disks).
    /// </summary>
    public TimeSpan BatchLinger { get; set; } = TimeSpan.Zero;

    /// <summary>Batches of at least this many events commit without lingering. Default 64.</summary>
    public int BatchLingerBelow { get; set; } = 64;

    /// <summary>
    /// PostgreSQL: a transaction the audit interceptor begins sends its audit append (the rows with the head's move, one
    /// statement) and its COMMIT in one batch, behind a savepoint, instead of the append and then the COMMIT: one round trip
    /// fewer per audited save (the password form's), and the chain head's row lock held for that batch only, not across a
    /// round trip to the server and back. A head moved meanwhile makes the append fail (nothing written, the COMMIT not
    /// run): rolled back to the savepoint, it takes the locked path as before. Default false, not adopted: on the idle machine
    /// the whole sign-in did not measurably gain from it, and each missed head (0.5-6% of form posts under load) writes an
    /// ERROR line to PostgreSQL's log, which monitoring alerting on errors would report (docs/benchmarks.md, "Sign-in,
    /// twelfth session").
    /// </summary>
    public bool AppendWithCommit { get; set; }

    /// <summary>
    /// A signed checkpoint is appended to the chain when the last one is older than this and events came since.
    /// Default 1 minute; zero signs after every group commit.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Retention per event class (the first segment of the event type: signin, signout, token, claims, account,
    /// registry, audit, ...). Classes not listed keep <see cref="DefaultRetention"/>.
    /// </summary>
    public Dictionary<string, TimeSpan> Retention { get; set; } = new(StringComparer.Ordinal)
    {
        ["signin"] = TimeSpan.FromDays(365),
        ["signout"] = TimeSpan.FromDays(365),
        ["token"] = TimeSpan.FromDays(180),
        ["claims"] = TimeSpan.FromDays(3 * 365),
    };

    /// <summary>Retention of classes not in <see cref="Retention"/>. Default 10 years.</summary>
    public TimeSpan DefaultRetention { get; set; } = TimeSpan.FromDays(3650);

    /// <summary>How often the server archives and removes events past retention. Default 1 hour; zero disables (use the audit-retention command).</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Most events one retention run archives. Default 100,000.</summary>
    public int RetentionBatchSize { get; set; } = 100_000;

    /// <summary>Where archive packages are written; relative to the data directory. Default "audit-archive".</summary>
    public string ArchiveDirectory { get; set; } = "audit-archive";

    /// <summary>Most rows one export may hold (narrow the filter beyond). Default 100,000.</summary>
    public int MaxExportRows { get; set; } = 100_000;

    /// <summary>Statistics count days in this offset from UTC. Default +08:00 (China Standard Time, no daylight saving).</summary>
    public TimeSpan StatisticsUtcOffset { get; set; } = TimeSpan.FromHours(8);

    public string ResolveNodeId() => string.IsNullOrWhiteSpace(NodeId) ? Environment.MachineName : NodeId.Trim();

    public TimeSpan RetentionOf(string category) => Retention.TryGetValue(category, out var retention) ? retention : DefaultRetention;
}
