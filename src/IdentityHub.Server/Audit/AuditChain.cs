using System.Data.Common;
using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityHub.Server.Audit;

/// <summary>
/// Appends rows to this node's hash chain, inside the caller's transaction: gives each row the next sequence and
/// the previous hash, computes its hash, and moves the node's head row (AuditChainHeads). The head row is the
/// chain's one writer lock: the UPDATE that moves it holds its row lock until the transaction ends (SQLite: its
/// transactions are single-writer already), so a chain never forks and a row becomes visible with its whole prefix.
/// <para>
/// Optimistic append: the process keeps the head it last saw committed (<see cref="Committed"/>), seals from it and
/// moves the head with one conditional UPDATE (compare-and-swap: WHERE LastSequence and LastHash are still the
/// expected ones), one statement instead of SELECT ... FOR UPDATE and UPDATE. When it matches no row (another
/// writer of this node moved the head: an in-transaction write of <see cref="AuditChainInterceptor"/>, another
/// process with the same node id, a checkpoint from a command; or no head known yet), it reads the head under lock
/// (SELECT ... FOR UPDATE), seals the rows again from there and moves it. The remembered head is a hint, never
/// trusted: only a committed transaction updates it, so a rolled-back append cannot leave it ahead of the
/// database, and a stale one costs one more statement, never a fork or a gap.
/// </para>
/// <para>The node-local order of this process's appends (<see cref="EnterOrderAsync"/>): AuditChain.Order.cs.</para>
/// </summary>
public sealed partial class AuditChain(IOptions<AuditOptions> options, AuditSigner signer, TimeProvider clock) : IAsyncDisposable, IDisposable
{
    public const string CheckpointType = "audit.checkpoint";

    private volatile bool _headEnsured;
    private long _appendedSinceCheckpoint;
    private long _headMisses;
    private long _singleStatementAppends;

    // The head this process last saw committed; null until the first commit or after a miss.
    private AuditChainPosition? _head;

    // PostgreSQL: the one-statement append on its own connection, prepared once (created with the first append).
    private AuditBatchInsert.PreparedAppend? _prepared;

    private long _inTransactionAppends;

    // PostgreSQL: a transaction's append sent with its COMMIT, in one batch (AuditChain.InTransaction.cs).
    private readonly bool _appendWithCommit = options.Value.AppendWithCommit;

    /// <summary>SaveChanges whose rows were appended in one statement in their transaction (<see cref="AppendInTransactionAsync"/>; tests, diagnostics).</summary>
    public long InTransactionAppends => Interlocked.Read(ref _inTransactionAppends);

    public string NodeId { get; } = options.Value.ResolveNodeId();

    /// <summary>Rows appended by this process since its last checkpoint.</summary>
    public long AppendedSinceCheckpoint => Interlocked.Read(ref _appendedSinceCheckpoint);

    public static bool IsPostgres(DbContext db) => db.Database.ProviderName?.Contains("Npgsql", StringComparison.Ordinal) == true;

    /// <summary>A checkpoint row: sealed like any row, with a signature over the chain position it follows.</summary>
    public AuditEvent NewCheckpoint() => new()
    {
        OccurredAtUtc = AuditHash.Truncate(clock.GetUtcNow().UtcDateTime),
        Category = "audit",
        EventType = CheckpointType,
        ActorKind = "system",
        ActorId = "audit-chain",
        TargetType = "chain",
        TargetId = NodeId,
    };

    /// <summary>
    /// Seals <paramref name="events"/> in order and moves the head; returns the new head, to pass to
    /// <see cref="Committed"/> once the transaction has committed. The context must be inside a transaction.
    /// </summary>
    public Task<AuditChainPosition> SealAsync(DbContext db, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Audit rows are sealed inside a transaction.");
        return SealAsync(db.Database.GetDbConnection(), transaction, IsPostgres(db), events, cancellationToken);
    }

    /// <summary>
    /// <see cref="SealAsync(DbContext, IReadOnlyList{AuditEvent}, CancellationToken)"/> on a connection of the caller's,
    /// inside the write transaction the caller has begun on it (<paramref name="transaction"/>; null when it began it
    /// with its own BEGIN statement, as the SQLite group commit does: <see cref="SqliteAuditAppender"/>).
    /// </summary>
    public async Task<AuditChainPosition> SealAsync(DbConnection connection, DbTransaction? transaction, bool postgres,
        IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var expected = Volatile.Read(ref _head);
        AuditChainPosition head;
        bool checkpointed;
        if (expected is not null && _headEnsured)
        {
            (head, checkpointed) = Seal(events, expected);
            var moved = await ExecuteAsync(connection, transaction,
                "UPDATE \"AuditChainHeads\" SET \"LastSequence\" = @s, \"LastHash\" = @h, \"UpdatedAtUtc\" = @t " +
                "WHERE \"NodeId\" = @n AND \"LastSequence\" = @es AND \"LastHash\" = @eh",
                cancellationToken, ("@s", head.Sequence), ("@h", head.Hash), ("@t", now), ("@n", NodeId),
                ("@es", expected.Sequence), ("@eh", expected.Hash));
            if (moved == 1)
            {
                Count(events.Count, checkpointed);
                return head;
            }

            // Moved by another writer since this process last committed: forget the hint, take the lock, seal again.
            Interlocked.Increment(ref _headMisses);
            Interlocked.CompareExchange(ref _head, null, expected);
        }

        (head, checkpointed) = Seal(events, await LockHeadAsync(connection, transaction, postgres, cancellationToken));
        await ExecuteAsync(connection, transaction,
            "UPDATE \"AuditChainHeads\" SET \"LastSequence\" = @s, \"LastHash\" = @h, \"UpdatedAtUtc\" = @t WHERE \"NodeId\" = @n",
            cancellationToken, ("@s", head.Sequence), ("@h", head.Hash), ("@t", now), ("@n", NodeId));
        Count(events.Count, checkpointed);
        return head;
    }

    /// <summary>
    /// PostgreSQL, no transaction of the caller's: seals <paramref name="events"/> from the head this process last
    /// committed and appends them with the head's move in one statement (<see cref="AuditBatchInsert.AppendAsync"/>,
    /// its own implicit transaction). Returns the new head once committed, or null when it could not (no head known
    /// yet, a batch larger than <see cref="AuditBatchInsert.SingleStatementMaxRows"/>, or the head moved meanwhile:
    /// then nothing was written and the caller appends with <see cref="SealAsync"/> in a transaction, which re-seals).
    /// </summary>
    public async Task<AuditChainPosition?> TryAppendAsync(IdentityHubDbContext db, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        var expected = Volatile.Read(ref _head);
        if (expected is null || !_headEnsured || events.Count > AuditBatchInsert.SingleStatementMaxRows || !IsPostgres(db)
            || db.Database.CurrentTransaction is not null)
        {
            return null;
        }

        var (head, checkpointed) = Seal(events, expected);
        int inserted;
        try
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var prepared = Volatile.Read(ref _prepared) ?? PreparedFor(db);
            // On the statement's own prepared connection; on the context's pooled one when another batch holds it (a
            // command-line commit beside the writer's loop).
            inserted = await prepared.TryAppendAsync(events, NodeId, expected, head, now, cancellationToken)
                ?? await AuditBatchInsert.AppendAsync(db, events, NodeId, expected, head, now, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected)
        {
            // Under a stricter default isolation (repeatable read or serializable) a head moved by another transaction is a
            // serialization failure rather than zero rows; a deadlock victim rolled back whole. Either way nothing was written:
            // a miss, and the locked path seals again.
            inserted = 0;
        }

        if (!Appended(inserted, events.Count, expected, checkpointed, ref _singleStatementAppends))
        {
            return null;
        }

        Committed(head);
        return head;
    }

    /// <summary>
    /// The one-statement append's outcome, <paramref name="inserted"/> rows of <paramref name="count"/>: true when all were
    /// written (counted in <paramref name="appends"/>); false when none, the head not being <paramref name="expected"/> (a
    /// miss: the hint is forgotten and the locked path seals again). The statement is atomic (the head's move and every
    /// row, or nothing): a partial count would mean the statement changed (e.g. an ON CONFLICT clause), and re-sealing the
    /// batch then could append events twice: it throws instead.
    /// </summary>
    private bool Appended(int inserted, int count, AuditChainPosition expected, bool checkpointed, ref long appends)
    {
        if (inserted == count)
        {
            Interlocked.Increment(ref appends);
            Count(count, checkpointed);
            return true;
        }

        if (inserted != 0)
        {
            throw new InvalidOperationException($"The audit append wrote {inserted} of {count} events; expected all or none.");
        }

        Interlocked.Increment(ref _headMisses);
        Interlocked.CompareExchange(ref _head, null, expected);
        return false;
    }

    /// <summary>
    /// The transaction that moved the head to <paramref name="head"/> has committed: the next append expects it.
    /// Only ever forward (two commits finishing out of order leave the later head).
    /// </summary>
    public void Committed(AuditChainPosition head)
    {
        while (true)
        {
            var known = Volatile.Read(ref _head);
            if (known is not null && known.Sequence >= head.Sequence)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _head, head, known) == known)
            {
                return;
            }
        }
    }

    private AuditBatchInsert.PreparedAppend PreparedFor(DbContext db)
    {
        var created = new AuditBatchInsert.PreparedAppend(db.Database.GetConnectionString()
            ?? throw new InvalidOperationException("The PostgreSQL context has no connection string."));
        // Opens nothing until its first append: a lost race costs an object, never a connection.
        return Interlocked.CompareExchange(ref _prepared, created, null) ?? created;
    }

    public ValueTask DisposeAsync() => _prepared?.DisposeAsync() ?? ValueTask.CompletedTask;

    // A container disposed synchronously (a host stopped without await) must not throw for want of IDisposable.
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Optimistic appends that found the head moved and took the locked path (tests, diagnostics).</summary>
    public long HeadMisses => Interlocked.Read(ref _headMisses);

    /// <summary>Batches appended by <see cref="TryAppendAsync"/>'s one statement (tests, diagnostics).</summary>
    public long SingleStatementAppends => Interlocked.Read(ref _singleStatementAppends);

    private (AuditChainPosition Head, bool Checkpointed) Seal(IReadOnlyList<AuditEvent> events, AuditChainPosition from)
    {
        var (sequence, hash) = (from.Sequence, from.Hash);
        var checkpointed = false;
        foreach (var e in events)
        {
            if (e.Id == 0)
            {
                // A new row: sealed over exactly what its columns will keep (AuditColumns). A row already stored (the
                // legacy rows chained at start-up) is sealed over its stored values as they are.
                AuditColumns.Bound(e);
            }

            e.NodeId = NodeId;
            e.Sequence = ++sequence;
            e.PreviousHash = hash;
            if (e.EventType == CheckpointType)
            {
                e.Data = signer.SignCheckpoint(NodeId, sequence - 1, hash);
                checkpointed = true;
            }

            e.Hash = AuditHash.Compute(e);
            hash = e.Hash;
        }

        return (new AuditChainPosition(sequence, hash), checkpointed);
    }

    /// <summary>
    /// A sealed batch whose commit failed: counted as appended since the last checkpoint, so that a checkpoint the batch
    /// carried (and <see cref="Count"/> already took for written) is not taken for stored, and the next one is not skipped.
    /// At worst one checkpoint more than needed.
    /// </summary>
    public void NotCommitted(int sealedEvents) => Interlocked.Add(ref _appendedSinceCheckpoint, Math.Max(1, sealedEvents));

    private void Count(int appended, bool checkpointed)
    {
        if (checkpointed)
        {
            Interlocked.Exchange(ref _appendedSinceCheckpoint, 0);
        }
        else
        {
            Interlocked.Add(ref _appendedSinceCheckpoint, appended);
        }
    }

    private async Task<AuditChainPosition> LockHeadAsync(DbConnection connection, DbTransaction? transaction, bool postgres,
        CancellationToken cancellationToken, bool again = false)
    {
        if (!_headEnsured)
        {
            await ExecuteAsync(connection, transaction,
                "INSERT INTO \"AuditChainHeads\" (\"NodeId\", \"LastSequence\", \"LastHash\", \"UpdatedAtUtc\") VALUES (@n, 0, @h, @t) " +
                "ON CONFLICT (\"NodeId\") DO NOTHING",
                cancellationToken, ("@n", NodeId), ("@h", AuditHash.Genesis), ("@t", clock.GetUtcNow().UtcDateTime));
            _headEnsured = true;
        }

        await using var command = Command(connection, transaction,
            "SELECT \"LastSequence\", \"LastHash\" FROM \"AuditChainHeads\" WHERE \"NodeId\" = @n" + (postgres ? " FOR UPDATE" : ""),
            ("@n", NodeId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            if (!again)
            {
                // The transaction that inserted the head was rolled back (the database went away before the commit):
                // insert it again rather than failing every append until a restart.
                await reader.DisposeAsync();
                _headEnsured = false;
                return await LockHeadAsync(connection, transaction, postgres, cancellationToken, again: true);
            }

            throw new InvalidOperationException($"The chain head of node {NodeId} is missing.");
        }

        return new AuditChainPosition(reader.GetInt64(0), reader.GetString(1));
    }

    internal static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}

/// <summary>A chain's head: its last sequence and that row's hash.</summary>
public sealed record AuditChainPosition(long Sequence, string Hash);
