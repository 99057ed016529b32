using IdentityHub.Server.Data;
using Microsoft.Data.Sqlite;

namespace IdentityHub.Server.Audit;

/// <summary>
/// SQLite: the group commit's append (<see cref="AuditWriter"/>) on a connection of its own, kept open, with its
/// statements prepared once. SQLite runs inside the server's process, so what PostgreSQL does in its own processes
/// (parsing, planning, the inserts) costs the server's CPU here: through EF Core a batch cost a pooled context, a
/// transaction, SQL generated for every row and one INSERT statement compiled by SQLite per row. Here a batch is
/// <c>BEGIN IMMEDIATE</c>, the chain head's compare-and-swap (<see cref="AuditChain.SealAsync(System.Data.Common.DbConnection, System.Data.Common.DbTransaction?, bool, IReadOnlyList{AuditEvent}, CancellationToken)"/>,
/// its locked fallback when another writer moved the head), one prepared INSERT bound and stepped once per row, and
/// <c>COMMIT</c>: the same rows, the same chain, the same commit (as durable as every commit of the database:
/// Database:SqliteSynchronous), only less work around them. It writes inside the process's SQLite write gate like
/// every context (<see cref="SqliteWriteGateInterceptor"/>), from <c>BEGIN</c> to <c>COMMIT</c> or <c>ROLLBACK</c>.
/// A failed batch is rolled back whole and the connection is opened anew for the next one; the caller reports the
/// failure to every waiter, as before.
/// </summary>
public sealed class SqliteAuditAppender(AuditChain chain, SqliteDatabase? database = null) : IDisposable
{
    private const string Insert = "INSERT INTO \"AuditEvents\" " + AuditBatchInsert.Columns +
        "VALUES (@c0, @c1, @c2, @c3, @c4, @c5, @c6, @c7, @c8, @c9, @c10, @c11, @c12, @c13, @c14, @c15, @c16, @c17, @c18, @c19, " +
        "@c20, @c21, @c22, @c23, @c24)";

    private Writer? _writer;
    private bool _disposed;
    private long _batches;

    /// <summary>Whether the database is SQLite (otherwise the group commit goes through EF Core and Npgsql).</summary>
    public bool IsAvailable => database is not null;

    /// <summary>Batches appended here since start (tests, diagnostics).</summary>
    public long BatchesAppended => Interlocked.Read(ref _batches);

    /// <summary>Seals <paramref name="events"/> in order and commits them with the head's move; returns once committed.</summary>
    public async Task AppendAsync(IReadOnlyList<AuditEvent> events)
    {
        var db = database ?? throw new InvalidOperationException("The SQLite audit append needs Database:Provider Sqlite.");
        await db.WriteGate.WaitAsync();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var writer = _writer ??= Writer.Open(db);
            try
            {
                // Microsoft.Data.Sqlite runs every statement synchronously (its asynchronous methods too): SQLite is in-process.
                writer.Begin.ExecuteNonQuery();
                var head = await chain.SealAsync(writer.Connection, null, postgres: false, events, CancellationToken.None);
                foreach (var e in events)
                {
                    writer.Bind(e);
                    writer.Insert.ExecuteNonQuery();
                }

                writer.Commit.ExecuteNonQuery();
                chain.Committed(head);
                Interlocked.Increment(ref _batches);
            }
            catch
            {
                // Whatever failed (the disk, a constraint, the connection), nothing of the batch stays: roll back what SQLite
                // has not already rolled back, and start the next batch on a fresh connection with freshly prepared statements.
                _writer = null;
                writer.Abandon();
                throw;
            }
        }
        finally
        {
            db.WriteGate.Release();
        }
    }

    public void Dispose()
    {
        var gate = database?.WriteGate;
        gate?.Wait();
        try
        {
            _disposed = true;
            _writer?.Dispose();
            _writer = null;
        }
        finally
        {
            gate?.Release();
        }
    }

    /// <summary>The connection and its prepared statements.</summary>
    private sealed class Writer : IDisposable
    {
        /// <summary>A new connection with its statements prepared; nothing left open when preparing fails.</summary>
        public static Writer Open(SqliteDatabase db)
        {
            var connection = db.OpenConnection();
            try
            {
                return new Writer(connection);
            }
            catch
            {
                // Disposing the connection disposes the commands prepared on it so far.
                connection.Dispose();
                throw;
            }
        }

        private readonly SqliteParameter[] _values = new SqliteParameter[AuditBatchInsert.ColumnCount];

        public Writer(SqliteConnection connection)
        {
            Connection = connection;
            // BEGIN IMMEDIATE: the write lock at once (as Microsoft.Data.Sqlite's own transactions take it), so a writer of
            // another process (a command-line job) is waited for here, by busy_timeout, not in the middle of the batch.
            Begin = Prepared("BEGIN IMMEDIATE");
            Commit = Prepared("COMMIT");
            Insert = connection.CreateCommand();
            Insert.CommandText = SqliteAuditAppender.Insert;
            for (var i = 0; i < AuditBatchInsert.ColumnCount; i++)
            {
                _values[i] = Insert.Parameters.Add("@c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), SqliteType.Text);
            }

            _values[AuditBatchInsert.SequenceColumn].SqliteType = SqliteType.Integer;
            Insert.Prepare();
        }

        public SqliteConnection Connection { get; }

        public SqliteCommand Begin { get; }

        public SqliteCommand Commit { get; }

        public SqliteCommand Insert { get; }

        /// <summary>The row's values, in <see cref="AuditBatchInsert.Columns"/>' order, stored as EF Core stores them.</summary>
        public void Bind(AuditEvent e)
        {
            // A DateTime as text "yyyy-MM-dd HH:mm:ss.FFFFFFF", as Microsoft.Data.Sqlite binds it for EF Core: the same
            // text the audit queries compare.
            _values[0].Value = e.OccurredAtUtc;
            for (var c = 1; c < AuditBatchInsert.ColumnCount; c++)
            {
                _values[c].Value = c == AuditBatchInsert.SequenceColumn
                    ? e.Sequence!.Value
                    : AuditBatchInsert.Text(e, c) is { } text ? text : DBNull.Value;
            }
        }

        private SqliteCommand Prepared(string sql)
        {
            var command = Connection.CreateCommand();
            command.CommandText = sql;
            command.Prepare();
            return command;
        }

        /// <summary>After a failure: rolls back what is still open and closes the connection.</summary>
        public void Abandon()
        {
            try
            {
                if (Connection.State == System.Data.ConnectionState.Open && !IsAutocommit(Connection))
                {
                    using var rollback = Connection.CreateCommand();
                    rollback.CommandText = "ROLLBACK";
                    rollback.ExecuteNonQuery();
                }
            }
            catch (SqliteException)
            {
                // The connection is closed below: SQLite rolls back a transaction left open when its connection closes.
            }
            finally
            {
                Dispose();
            }
        }

        private static bool IsAutocommit(SqliteConnection connection) =>
            connection.Handle is { } handle && SQLitePCL.raw.sqlite3_get_autocommit(handle) != 0;

        public void Dispose()
        {
            Begin.Dispose();
            Commit.Dispose();
            Insert.Dispose();
            Connection.Dispose();
        }
    }
}
