using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Audit;

/// <summary>
/// Appends rows to this node's hash chain. Inside the caller's transaction it locks the node's head row
/// (PostgreSQL: SELECT ... FOR UPDATE; SQLite: its transactions are single-writer already), gives each row the
/// next sequence and the previous hash, computes its hash, and moves the head. The lock is held until the
/// transaction ends, so a chain never forks and a row becomes visible with its whole prefix.
/// </summary>
public sealed class AuditChain(IOptions<AuditOptions> options, AuditSigner signer, TimeProvider clock)
{
    public const string CheckpointType = "audit.checkpoint";

    private volatile bool _headEnsured;
    private long _appendedSinceCheckpoint;

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

    /// <summary>Seals <paramref name="events"/> in order. The context must be inside a transaction.</summary>
    public async Task SealAsync(DbContext db, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Audit rows are sealed inside a transaction.");
        var (sequence, hash) = await LockHeadAsync(db, transaction, cancellationToken);
        var checkpointed = false;
        foreach (var e in events)
        {
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

        await ExecuteAsync(db, transaction,
            "UPDATE \"AuditChainHeads\" SET \"LastSequence\" = @s, \"LastHash\" = @h, \"UpdatedAtUtc\" = @t WHERE \"NodeId\" = @n",
            cancellationToken, ("@s", sequence), ("@h", hash), ("@t", clock.GetUtcNow().UtcDateTime), ("@n", NodeId));
        if (checkpointed)
        {
            Interlocked.Exchange(ref _appendedSinceCheckpoint, 0);
        }
        else
        {
            Interlocked.Add(ref _appendedSinceCheckpoint, events.Count);
        }
    }

    private async Task<(long Sequence, string Hash)> LockHeadAsync(DbContext db, DbTransaction transaction, CancellationToken cancellationToken,
        bool again = false)
    {
        if (!_headEnsured)
        {
            await ExecuteAsync(db, transaction,
                "INSERT INTO \"AuditChainHeads\" (\"NodeId\", \"LastSequence\", \"LastHash\", \"UpdatedAtUtc\") VALUES (@n, 0, @h, @t) " +
                "ON CONFLICT (\"NodeId\") DO NOTHING",
                cancellationToken, ("@n", NodeId), ("@h", AuditHash.Genesis), ("@t", clock.GetUtcNow().UtcDateTime));
            _headEnsured = true;
        }

        await using var command = Command(db, transaction,
            "SELECT \"LastSequence\", \"LastHash\" FROM \"AuditChainHeads\" WHERE \"NodeId\" = @n" + (IsPostgres(db) ? " FOR UPDATE" : ""),
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
                return await LockHeadAsync(db, transaction, cancellationToken, again: true);
            }

            throw new InvalidOperationException($"The chain head of node {NodeId} is missing.");
        }

        return (reader.GetInt64(0), reader.GetString(1));
    }

    internal static async Task ExecuteAsync(DbContext db, DbTransaction transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(db, transaction, sql, parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbCommand Command(DbContext db, DbTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
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
