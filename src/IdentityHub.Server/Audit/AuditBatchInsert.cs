using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace IdentityHub.Server.Audit;

/// <summary>
/// Inserts sealed rows in the caller's transaction: PostgreSQL's binary COPY (one round trip per batch, no SQL
/// per row: the 5,000 events/s ingest target), SQLite through EF Core's batched inserts. On PostgreSQL the group
/// commit's small batches go as one statement with the head's move instead (<see cref="AppendAsync"/>); on SQLite
/// the group commit appends on its own connection (<see cref="SqliteAuditAppender"/>).
/// </summary>
public static class AuditBatchInsert
{
    /// <summary>The columns the writers fill, in the order they write them (COPY's fields, the unnest arrays, SQLite's INSERT).</summary>
    internal const string Columns =
        "(\"OccurredAtUtc\", \"Category\", \"EventType\", \"Outcome\", \"Reason\", \"ActorKind\", \"ActorId\", " +
        "\"ActorName\", \"SubjectId\", \"EnterpriseId\", \"ClientId\", \"TargetType\", \"TargetId\", \"DepartmentCode\", \"IpAddress\", " +
        "\"UserAgent\", \"SessionId\", \"CorrelationId\", \"Before\", \"After\", \"Data\", \"NodeId\", \"Sequence\", \"PreviousHash\", \"Hash\") ";

    private const string Copy = "COPY \"AuditEvents\" " + Columns + "FROM STDIN (FORMAT BINARY)";

    public static async Task InsertAsync(IdentityHubDbContext db, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (!AuditChain.IsPostgres(db))
        {
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            db.AuditEvents.AddRange(events);
            await db.SaveChangesAsync(cancellationToken);
            return;
        }

        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using var import = await connection.BeginBinaryImportAsync(Copy, cancellationToken);
        foreach (var e in events)
        {
            // The synchronous writes fill Npgsql's write buffer (an await per field cost more than the field); a row
            // that does not fit flushes it first (a socket write on loopback, which does not wait for the server).
            import.StartRow();
            import.Write(DateTime.SpecifyKind(e.OccurredAtUtc, DateTimeKind.Utc), NpgsqlDbType.TimestampTz);
            // Field by field, in the COPY column order (no array per row).
            WriteText(import, e.Category);
            WriteText(import, e.EventType);
            WriteText(import, e.Outcome);
            WriteText(import, e.Reason);
            WriteText(import, e.ActorKind);
            WriteText(import, e.ActorId);
            WriteText(import, e.ActorName);
            WriteText(import, e.SubjectId);
            WriteText(import, e.EnterpriseId);
            WriteText(import, e.ClientId);
            WriteText(import, e.TargetType);
            WriteText(import, e.TargetId);
            WriteText(import, e.DepartmentCode);
            WriteText(import, e.IpAddress);
            WriteText(import, e.UserAgent);
            WriteText(import, e.SessionId);
            WriteText(import, e.CorrelationId);
            WriteText(import, e.Before);
            WriteText(import, e.After);
            WriteText(import, e.Data);
            WriteText(import, e.NodeId);
            import.Write(e.Sequence!.Value, NpgsqlDbType.Bigint);
            WriteText(import, e.PreviousHash);
            WriteText(import, e.Hash);
        }

        await import.CompleteAsync(cancellationToken);
    }

    /// <summary>Batches up to this many rows go as one statement (<see cref="AppendAsync"/>); larger ones by COPY.</summary>
    public const int SingleStatementMaxRows = 64;

    private const string Append =
        "WITH head AS (UPDATE \"AuditChainHeads\" SET \"LastSequence\" = @s, \"LastHash\" = @h, \"UpdatedAtUtc\" = @t " +
        "WHERE \"NodeId\" = @n AND \"LastSequence\" = @es AND \"LastHash\" = @eh RETURNING 1) " +
        "INSERT INTO \"AuditEvents\" " + Columns +
        "SELECT * FROM unnest(@c0, @c1, @c2, @c3, @c4, @c5, @c6, @c7, @c8, @c9, @c10, @c11, @c12, @c13, @c14, @c15, @c16, @c17, @c18, " +
        "@c19, @c20, @c21, @c22, @c23, @c24) WHERE EXISTS (SELECT 1 FROM head)";

    /// <summary>
    /// PostgreSQL, small batches: moves the chain head from <paramref name="expected"/> to <paramref name="head"/> and
    /// inserts the rows sealed from it in ONE statement outside any explicit transaction (its implicit transaction:
    /// both or neither): a data-modifying CTE makes the compare-and-swap of <see cref="AuditChain"/> and the
    /// INSERT ... SELECT FROM unnest(arrays) inserts the rows only if the head moved. One round trip instead of
    /// BEGIN + UPDATE, COPY (two) and COMMIT. Returns the rows inserted: all of them, or none when the head was not
    /// the expected one (the caller then takes the locked path). The commit is as durable as any other.
    /// </summary>
    public static async Task<int> AppendAsync(IdentityHubDbContext db, IReadOnlyList<AuditEvent> events, string nodeId,
        AuditChainPosition expected, AuditChainPosition head, DateTime now, CancellationToken cancellationToken)
    {
        var n = events.Count;
        var occurred = new DateTime[n];
        var sequence = new long[n];
        for (var i = 0; i < n; i++)
        {
            occurred[i] = DateTime.SpecifyKind(events[i].OccurredAtUtc, DateTimeKind.Utc);
            sequence[i] = events[i].Sequence!.Value;
        }

        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
        }

        await using var command = new NpgsqlCommand(Append, connection);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<long>("s", head.Sequence));
        p.Add(new NpgsqlParameter<string>("h", head.Hash));
        p.Add(new NpgsqlParameter<DateTime>("t", DateTime.SpecifyKind(now, DateTimeKind.Utc)) { NpgsqlDbType = NpgsqlDbType.TimestampTz });
        p.Add(new NpgsqlParameter<string>("n", nodeId));
        p.Add(new NpgsqlParameter<long>("es", expected.Sequence));
        p.Add(new NpgsqlParameter<string>("eh", expected.Hash));
        // In the column order of the INSERT.
        p.Add(new NpgsqlParameter<DateTime[]>("c0", occurred) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        Text(p, "c1", events, e => e.Category);
        Text(p, "c2", events, e => e.EventType);
        Text(p, "c3", events, e => e.Outcome);
        Text(p, "c4", events, e => e.Reason);
        Text(p, "c5", events, e => e.ActorKind);
        Text(p, "c6", events, e => e.ActorId);
        Text(p, "c7", events, e => e.ActorName);
        Text(p, "c8", events, e => e.SubjectId);
        Text(p, "c9", events, e => e.EnterpriseId);
        Text(p, "c10", events, e => e.ClientId);
        Text(p, "c11", events, e => e.TargetType);
        Text(p, "c12", events, e => e.TargetId);
        Text(p, "c13", events, e => e.DepartmentCode);
        Text(p, "c14", events, e => e.IpAddress);
        Text(p, "c15", events, e => e.UserAgent);
        Text(p, "c16", events, e => e.SessionId);
        Text(p, "c17", events, e => e.CorrelationId);
        Text(p, "c18", events, e => e.Before);
        Text(p, "c19", events, e => e.After);
        Text(p, "c20", events, e => e.Data);
        Text(p, "c21", events, e => e.NodeId);
        p.Add(new NpgsqlParameter<long[]>("c22", sequence) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        Text(p, "c23", events, e => e.PreviousHash);
        Text(p, "c24", events, e => e.Hash);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Text(NpgsqlParameterCollection parameters, string name, IReadOnlyList<AuditEvent> events, Func<AuditEvent, string?> column)
    {
        var values = new string?[events.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = column(events[i]);
        }

        parameters.Add(new NpgsqlParameter<string?[]>(name, values) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
    }

    private static void WriteText(NpgsqlBinaryImporter import, string? value)
    {
        if (value is null)
        {
            import.WriteNull();
        }
        else
        {
            import.Write(value, NpgsqlDbType.Text);
        }
    }
}
