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
public static partial class AuditBatchInsert
{
    /// <summary>The columns the writers fill, in the order they write them (COPY's fields, the unnest arrays, SQLite's INSERT).</summary>
    internal const string Columns =
        "(\"OccurredAtUtc\", \"Category\", \"EventType\", \"Outcome\", \"Reason\", \"ActorKind\", \"ActorId\", " +
        "\"ActorName\", \"SubjectId\", \"EnterpriseId\", \"ClientId\", \"TargetType\", \"TargetId\", \"DepartmentCode\", \"IpAddress\", " +
        "\"UserAgent\", \"SessionId\", \"CorrelationId\", \"Before\", \"After\", \"Data\", \"NodeId\", \"Sequence\", \"PreviousHash\", \"Hash\") ";

    private const string Copy = "COPY \"AuditEvents\" " + Columns + "FROM STDIN (FORMAT BINARY)";

    /// <summary>How many columns <see cref="Columns"/> names.</summary>
    internal const int ColumnCount = 25;

    /// <summary>The one column that is not text after OccurredAtUtc (position 0): Sequence, a bigint.</summary>
    internal const int SequenceColumn = 22;

    /// <summary>
    /// The value of text column <paramref name="column"/> (1-24 except <see cref="SequenceColumn"/>, in <see cref="Columns"/>'
    /// order) of <paramref name="e"/>: the one mapping of positions to fields for COPY, the unnest arrays and SQLite's INSERT.
    /// </summary>
    internal static string? Text(AuditEvent e, int column) => column switch
    {
        1 => e.Category,
        2 => e.EventType,
        3 => e.Outcome,
        4 => e.Reason,
        5 => e.ActorKind,
        6 => e.ActorId,
        7 => e.ActorName,
        8 => e.SubjectId,
        9 => e.EnterpriseId,
        10 => e.ClientId,
        11 => e.TargetType,
        12 => e.TargetId,
        13 => e.DepartmentCode,
        14 => e.IpAddress,
        15 => e.UserAgent,
        16 => e.SessionId,
        17 => e.CorrelationId,
        18 => e.Before,
        19 => e.After,
        20 => e.Data,
        21 => e.NodeId,
        23 => e.PreviousHash,
        24 => e.Hash,
        _ => throw new ArgumentOutOfRangeException(nameof(column), column, "Not a text column of the audit rows."),
    };

    public static async Task InsertAsync(IdentityHubDbContext db, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (!AuditChain.IsPostgres(db))
        {
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            db.AuditEvents.AddRange(events);
            await db.SaveChangesAsync(cancellationToken);
            return;
        }

        await CopyAsync((NpgsqlConnection)db.Database.GetDbConnection(), events, cancellationToken);
    }

    /// <summary>PostgreSQL: the sealed rows by binary COPY, in the connection's current transaction.</summary>
    public static async Task CopyAsync(NpgsqlConnection connection, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        await using var import = await connection.BeginBinaryImportAsync(Copy, cancellationToken);
        foreach (var e in events)
        {
            // The synchronous writes fill Npgsql's write buffer (an await per field cost more than the field); a row
            // that does not fit flushes it first (a socket write on loopback, which does not wait for the server).
            import.StartRow();
            import.Write(DateTime.SpecifyKind(e.OccurredAtUtc, DateTimeKind.Utc), NpgsqlDbType.TimestampTz);
            // Field by field, in the COPY column order (no array per row).
            for (var c = 1; c < ColumnCount; c++)
            {
                if (c == SequenceColumn)
                {
                    import.Write(e.Sequence!.Value, NpgsqlDbType.Bigint);
                }
                else
                {
                    WriteText(import, Text(e, c));
                }
            }
        }

        await import.CompleteAsync(cancellationToken);
    }

    /// <summary>Batches up to this many rows go as one statement (<see cref="AppendAsync"/>); larger ones by COPY.</summary>
    public const int SingleStatementMaxRows = 64;

    /// <summary>The head's compare-and-swap, a common table expression of <see cref="Append"/> and <see cref="AppendOrFail"/>.</summary>
    private const string MoveHead =
        "head AS (UPDATE \"AuditChainHeads\" SET \"LastSequence\" = @s, \"LastHash\" = @h, \"UpdatedAtUtc\" = @t " +
        "WHERE \"NodeId\" = @n AND \"LastSequence\" = @es AND \"LastHash\" = @eh RETURNING 1)";

    /// <summary>The sealed rows, inserted only if the head moved.</summary>
    private const string InsertRows =
        "INSERT INTO \"AuditEvents\" " + Columns +
        "SELECT * FROM unnest(@c0, @c1, @c2, @c3, @c4, @c5, @c6, @c7, @c8, @c9, @c10, @c11, @c12, @c13, @c14, @c15, @c16, @c17, @c18, " +
        "@c19, @c20, @c21, @c22, @c23, @c24) WHERE EXISTS (SELECT 1 FROM head)";

    private const string Append = "WITH " + MoveHead + " " + InsertRows;

    /// <summary>
    /// PostgreSQL, small batches: moves the chain head from <paramref name="expected"/> to <paramref name="head"/> and
    /// inserts the rows sealed from it in ONE statement outside any explicit transaction (its implicit transaction:
    /// both or neither): a data-modifying CTE makes the compare-and-swap of <see cref="AuditChain"/> and the
    /// INSERT ... SELECT FROM unnest(arrays) inserts the rows only if the head moved. One round trip instead of
    /// BEGIN + UPDATE, COPY (two) and COMMIT. Returns the rows inserted: all of them, or none when the head was not
    /// the expected one (the caller then takes the locked path). The commit is as durable as any other.
    /// This is the path on the context's own (pooled) connection, for when <see cref="PreparedAppend"/> is busy.
    /// </summary>
    public static async Task<int> AppendAsync(IdentityHubDbContext db, IReadOnlyList<AuditEvent> events, string nodeId,
        AuditChainPosition expected, AuditChainPosition head, DateTime now, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
        }

        return await AppendAsync(connection, null, events, nodeId, expected, head, now, cancellationToken);
    }

    /// <summary>
    /// <see cref="AppendAsync(IdentityHubDbContext, IReadOnlyList{AuditEvent}, string, AuditChainPosition, AuditChainPosition, DateTime, CancellationToken)"/>'s
    /// statement on an open connection, inside <paramref name="transaction"/> when given (the rows of a SaveChanges,
    /// <see cref="AuditChainInterceptor"/>): then it commits with the caller's transaction, and a head that was not the
    /// expected one (zero rows) leaves the transaction usable for the locked path.
    /// </summary>
    public static async Task<int> AppendAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<AuditEvent> events,
        string nodeId, AuditChainPosition expected, AuditChainPosition head, DateTime now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(Append, connection, transaction);
        var parameters = AppendParameters(command.Parameters);
        Fill(parameters, events, nodeId, expected, head, now);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The statement's parameters, typed, in the order of <see cref="Append"/>; values set by <see cref="Fill"/>.</summary>
    private static NpgsqlParameter[] AppendParameters(NpgsqlParameterCollection collection)
    {
        var parameters = new NpgsqlParameter[6 + ColumnCount];
        parameters[0] = new NpgsqlParameter<long>("s", 0L);
        parameters[1] = new NpgsqlParameter<string>("h", "");
        parameters[2] = new NpgsqlParameter<DateTime>("t", DateTime.UnixEpoch) { NpgsqlDbType = NpgsqlDbType.TimestampTz };
        parameters[3] = new NpgsqlParameter<string>("n", "");
        parameters[4] = new NpgsqlParameter<long>("es", 0L);
        parameters[5] = new NpgsqlParameter<string>("eh", "");
        // In the column order of the INSERT.
        parameters[6] = new NpgsqlParameter<DateTime[]>("c0", []) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };
        for (var c = 1; c < ColumnCount; c++)
        {
            parameters[6 + c] = c == SequenceColumn
                ? new NpgsqlParameter<long[]>("c" + c, []) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint }
                : new NpgsqlParameter<string?[]>("c" + c, []) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
        }

        collection.AddRange(parameters);
        return parameters;
    }

    private static void Fill(NpgsqlParameter[] parameters, IReadOnlyList<AuditEvent> events, string nodeId,
        AuditChainPosition expected, AuditChainPosition head, DateTime now)
    {
        var n = events.Count;
        var occurred = new DateTime[n];
        var sequence = new long[n];
        for (var i = 0; i < n; i++)
        {
            occurred[i] = DateTime.SpecifyKind(events[i].OccurredAtUtc, DateTimeKind.Utc);
            sequence[i] = events[i].Sequence!.Value;
        }

        ((NpgsqlParameter<long>)parameters[0]).TypedValue = head.Sequence;
        ((NpgsqlParameter<string>)parameters[1]).TypedValue = head.Hash;
        ((NpgsqlParameter<DateTime>)parameters[2]).TypedValue = DateTime.SpecifyKind(now, DateTimeKind.Utc);
        ((NpgsqlParameter<string>)parameters[3]).TypedValue = nodeId;
        ((NpgsqlParameter<long>)parameters[4]).TypedValue = expected.Sequence;
        ((NpgsqlParameter<string>)parameters[5]).TypedValue = expected.Hash;
        ((NpgsqlParameter<DateTime[]>)parameters[6]).TypedValue = occurred;
        for (var c = 1; c < ColumnCount; c++)
        {
            if (c == SequenceColumn)
            {
                ((NpgsqlParameter<long[]>)parameters[6 + c]).TypedValue = sequence;
            }
            else
            {
                TextArray(parameters[6 + c], events, c);
            }
        }
    }

    /// <summary>
    /// PostgreSQL: <see cref="AppendAsync"/>'s statement on a connection of its own, explicitly prepared once (Parse and plan
    /// once per process, not once per pooled connection after Npgsql's auto-prepare threshold of five uses: the group commit
    /// took whichever pooled connection was free, so where requests use the pool too (the refresh grant) each of ~20
    /// connections saw the statement a few times and PostgreSQL parsed and planned it nearly every time). One batch at a time
    /// (<see cref="TryAppendAsync"/> answers null when busy: the caller uses the context's connection). After any error the
    /// connection is dropped and the next batch opens a new one; the statement is atomic, so an error leaves all or nothing.
    /// </summary>
    public sealed class PreparedAppend(string connectionString) : IAsyncDisposable
    {
        /// <summary>
        /// Unused this long, the connection is opened anew before the next batch: a connection held open through a quiet
        /// night may have been cut by a firewall's idle timeout, idle_session_timeout or a failover, and the pool's own
        /// pruning does not see a connection held here. TCP keepalives (below) find a dead peer meanwhile.
        /// </summary>
        private static readonly TimeSpan MaxIdle = TimeSpan.FromSeconds(60);

        private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { KeepAlive = 30 }.ToString();
        private readonly SemaphoreSlim _gate = new(1, 1);
        private long _lastUsed;
        private NpgsqlConnection? _connection;
        private NpgsqlCommand? _command;
        private NpgsqlParameter[]? _parameters;
        private bool _disposed;

        /// <summary>The rows inserted (all or none), or null when another batch is using the connection right now.</summary>
        public async Task<int?> TryAppendAsync(IReadOnlyList<AuditEvent> events, string nodeId, AuditChainPosition expected,
            AuditChainPosition head, DateTime now, CancellationToken cancellationToken)
        {
            if (!_gate.Wait(0))
            {
                return null;
            }

            try
            {
                if (_disposed)
                {
                    return null;
                }

                if (_command is not null
                    && (_connection?.FullState != System.Data.ConnectionState.Open
                        || System.Diagnostics.Stopwatch.GetElapsedTime(_lastUsed) > MaxIdle))
                {
                    await DropAsync();
                }

                var prepared = _command;
                if (prepared is null)
                {
                    var connection = new NpgsqlConnection(_connectionString);
                    NpgsqlCommand? command = null;
                    try
                    {
                        await connection.OpenAsync(cancellationToken);
                        command = new NpgsqlCommand(Append, connection);
                        _parameters = AppendParameters(command.Parameters);
                        await command.PrepareAsync(cancellationToken);
                        (_connection, _command, prepared) = (connection, command, command);
                    }
                    catch (Exception e) when (e is NpgsqlException or TimeoutException)
                    {
                        // Nothing was sent for this batch: the caller appends it on the context's pooled connection.
                        _parameters = null;
                        if (command is not null)
                        {
                            await command.DisposeAsync();
                        }

                        await connection.DisposeAsync();
                        return null;
                    }
                }

                _lastUsed = System.Diagnostics.Stopwatch.GetTimestamp();

                Fill(_parameters!, events, nodeId, expected, head, now);
                try
                {
                    return await prepared.ExecuteNonQueryAsync(cancellationToken);
                }
                catch
                {
                    // A broken or confused connection is not reused; a statement error (the head's serialization failure under
                    // a stricter isolation) costs one new connection and Prepare, rare enough.
                    await DropAsync();
                    throw;
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task DropAsync()
        {
            var (connection, command) = (_connection, _command);
            (_connection, _command, _parameters) = (null, null, null);
            if (command is not null)
            {
                await command.DisposeAsync();
            }

            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _gate.WaitAsync();
            try
            {
                _disposed = true;
                await DropAsync();
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    private static void TextArray(NpgsqlParameter parameter, IReadOnlyList<AuditEvent> events, int column)
    {
        var values = new string?[events.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Text(events[i], column);
        }

        ((NpgsqlParameter<string?[]>)parameter).TypedValue = values;
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
