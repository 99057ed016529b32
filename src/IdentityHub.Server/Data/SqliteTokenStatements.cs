using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace IdentityHub.Server.Data;

/// <summary>
/// SQLite only: the token grants' one-command writes (Oidc/RefreshTokens/RefreshTokenEntries: a refresh token's rotation,
/// an authorization code's redemption), committed in groups (<see cref="DatabaseOptions.SqliteGroupTokenStatements"/>): the
/// commands of concurrent requests run one after the other in one transaction, on a connection of this class's own, inside
/// the process's write gate once per group instead of once per request.
/// <para>
/// Why: SQLite has one writer at a time. Each request's own transaction held the gate from its BEGIN to its COMMIT, and
/// between two holders the gate waited for the next one's continuation to find a core, which the refreshes' RSA signatures
/// kept busy: the refreshes queued behind the gate with cores idle (docs/benchmarks.md, "Refresh, fifteenth session").
/// </para>
/// <para>
/// What each command gets is what its own transaction gave it: it runs whole or not at all (a savepoint of its own, rolled
/// back if it fails, and its caller gets the exception), it sees the commands before it in the group as it would have seen
/// them committed before it (one writer: the same order), its row count is its own, and its caller continues only once the
/// group is committed (as durable as every commit: Database:SqliteSynchronous). A group whose BEGIN or COMMIT fails is
/// rolled back whole and every caller in it gets the exception; the next group opens a new connection. Parameters are
/// bound as Microsoft.Data.Sqlite binds EF Core's raw-SQL values (a DateTime as text "yyyy-MM-dd HH:mm:ss.FFFFFFF").
/// </para>
/// </summary>
public sealed class SqliteTokenStatements : IAsyncDisposable
{
    /// <summary>At most this many commands in one transaction: a bound on the gate's hold and on a failed group.</summary>
    private const int MaxGroup = 64;

    private readonly SqliteDatabase? _database;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop = Task.CompletedTask;
    private readonly Dictionary<string, SqliteCommand> _commands = new(ReferenceEqualityComparer.Instance);
    private SqliteConnection? _connection;
    private long _groups;

    private SqliteTokenStatements(SqliteDatabase? database)
    {
        _database = database;
        if (database is not null)
        {
            _loop = Task.Run(LoopAsync);
        }
    }

    /// <summary>PostgreSQL, or grouping switched off: every command stays on the DbContext.</summary>
    public static SqliteTokenStatements None { get; } = new(null);

    public static SqliteTokenStatements For(SqliteDatabase database) => new(database);

    public bool Enabled => _database is not null;

    /// <summary>Groups committed since start (tests, diagnostics).</summary>
    public long GroupsCommitted => Interlocked.Read(ref _groups);

    /// <summary>
    /// Runs <paramref name="sql"/> (EF Core raw-SQL form, {0}, {1}, ... for <paramref name="arguments"/>; one or more
    /// statements) in the next group and returns its row count (the sum over its statements, as ExecuteNonQuery counts).
    /// </summary>
    public Task<int> ExecuteAsync(string sql, object?[] arguments)
    {
        var pending = new Pending(sql, arguments, new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_database is null || !_queue.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The SQLite token statements are not available (not SQLite, or shutting down).");
        }

        return pending.Done.Task;
    }

    private async Task LoopAsync()
    {
        var group = new List<Pending>(MaxGroup);
        try
        {
            while (await _queue.Reader.WaitToReadAsync())
            {
                await _database!.WriteGate.WaitAsync();
                try
                {
                    // Taken once the gate is ours: what arrived while waiting for it joins this group.
                    while (group.Count < MaxGroup && _queue.Reader.TryRead(out var pending))
                    {
                        group.Add(pending);
                    }

                    Commit(group);
                }
                finally
                {
                    _database.WriteGate.Release();
                }

                group.Clear();
            }
        }
        catch (Exception exception)
        {
            // Not expected (Commit answers every failure to its callers): no caller may wait for ever all the same. The
            // queue is closed with the exception, so later commands fail at once, and whatever is queued fails with it.
            _queue.Writer.TryComplete(exception);
            foreach (var pending in group)
            {
                pending.Done.TrySetException(exception);
            }

            while (_queue.Reader.TryRead(out var queued))
            {
                queued.Done.TrySetException(exception);
            }
        }
    }

    /// <summary>One group: BEGIN IMMEDIATE, each command behind its own savepoint, COMMIT; then every caller answered.</summary>
    private void Commit(List<Pending> group)
    {
        var results = new (int Rows, Exception? Error)[group.Count];
        try
        {
            var connection = _connection ??= _database!.OpenConnection();
            Run(connection, "BEGIN IMMEDIATE");
            for (var i = 0; i < group.Count; i++)
            {
                Run(connection, "SAVEPOINT token_statement");
                try
                {
                    results[i] = (Command(connection, group[i]).ExecuteNonQuery(), null);
                    Run(connection, "RELEASE token_statement");
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    // This command's changes undone (a statement of it that ran before the failing one too), the others'
                    // kept, as its own transaction would have failed alone. Where SQLite rolled the whole transaction back
                    // itself (a full disk, an I/O error), the savepoint is gone: the group fails with this command's error.
                    try
                    {
                        Run(connection, "ROLLBACK TO token_statement");
                        Run(connection, "RELEASE token_statement");
                    }
                    catch (SqliteException)
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(exception);
                    }

                    results[i] = (0, exception);
                }
            }

            Run(connection, "COMMIT");
            Interlocked.Increment(ref _groups);
        }
        catch (Exception exception)
        {
            // BEGIN, a savepoint or COMMIT failed (the disk, the connection, another process's lock beyond busy_timeout):
            // nothing of the group stays. Every caller is told first; then closing the connection rolls back what SQLite
            // has not, and the next group opens anew.
            foreach (var pending in group)
            {
                pending.Done.TrySetException(exception);
            }

            try
            {
                Abandon();
            }
            catch (Exception)
            {
                _connection = null;
                _commands.Clear();
            }

            return;
        }

        for (var i = 0; i < group.Count; i++)
        {
            if (results[i].Error is { } error)
            {
                group[i].Done.TrySetException(error);
            }
            else
            {
                group[i].Done.TrySetResult(results[i].Rows);
            }
        }
    }

    /// <summary>
    /// The command of a statement text, prepared once on this connection, its parameters bound anew. Keyed by the text's
    /// reference: the callers pass their static statement texts (a dozen at most), never text built per call.
    /// </summary>
    private SqliteCommand Command(SqliteConnection connection, Pending pending)
    {
        if (!_commands.TryGetValue(pending.Sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = RawSqlPlaceholders.Renumber(pending.Sql, "@p", 0);
            _commands[pending.Sql] = command;
        }

        command.Parameters.Clear();
        for (var i = 0; i < pending.Arguments.Length; i++)
        {
            command.Parameters.AddWithValue(ParameterName(i), pending.Arguments[i] ?? DBNull.Value);
        }

        return command;
    }

    /// <summary>The names RawSqlPlaceholders gives {0}, {1}, ...: made once, not per command (the statements take at most 19).</summary>
    private static readonly string[] ParameterNames =
        [.. Enumerable.Range(0, 32).Select(i => "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static string ParameterName(int i) =>
        i < ParameterNames.Length ? ParameterNames[i] : "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A statement without parameters (BEGIN, SAVEPOINT, ...), prepared once on this connection.</summary>
    private void Run(SqliteConnection connection, string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }

        command.ExecuteNonQuery();
    }

    private void Abandon()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        _connection?.Dispose();
        _connection = null;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        if (_database is not null)
        {
            await _database.WriteGate.WaitAsync();
            try
            {
                Abandon();
            }
            finally
            {
                _database.WriteGate.Release();
            }
        }
    }

    private sealed record Pending(string Sql, object?[] Arguments, TaskCompletionSource<int> Done);
}
