using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace IdentityHub.Server.Data;

/// <summary>
/// One writer at a time per SQLite database, queued asynchronously in this process. SQLite lets one connection write
/// at a time; Microsoft.Data.Sqlite answers a second writer's SQLITE_BUSY by putting its thread to sleep for 150 ms and
/// retrying, which parks thread-pool threads and stretches latencies to hundreds of milliseconds. So every write of the
/// process waits here instead, without a thread: a transaction from its BEGIN (Microsoft.Data.Sqlite begins IMMEDIATE:
/// the write lock is taken at once) to its commit, rollback or disposal (explicit ones, and the one EF Core begins for
/// a SaveChanges of several commands), and a write statement outside any transaction (a SaveChanges of one command,
/// ExecuteUpdate, ExecuteDelete, raw SQL) until its reader is disposed. Only the database's work is inside the gate,
/// not EF Core's preparation of a save: the gate hands over as soon as SQLite is done. A context that holds the gate
/// enters it again freely. SQLite still sees one writer at a time; readers are never gated (WAL).
/// </summary>
public sealed class SqliteWriteGateInterceptor : IDbTransactionInterceptor, IDbCommandInterceptor, IDbConnectionInterceptor
{
    // --- explicit and SaveChanges' own transactions --------------------------------------------------------

    public InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData,
        InterceptionResult<DbTransaction> result)
    {
        if (eventData.Context is SqliteIdentityHubDbContext db)
        {
            db.WriteGate.EnterForTransaction();
        }

        return result;
    }

    public async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection,
        TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is SqliteIdentityHubDbContext db)
        {
            await db.WriteGate.EnterForTransactionAsync(cancellationToken);
        }

        return result;
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => EndTransaction(eventData.Context);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        EndTransaction(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => EndTransaction(eventData.Context);

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        EndTransaction(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => FailedTransaction(eventData);

    public Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        FailedTransaction(eventData);
        return Task.CompletedTask;
    }

    // A transaction disposed without commit or rollback (an exception on the way) closes the connection EF opened for
    // it; a connection the caller opened stays open, and the next command of the context notices the transaction is gone.
    public void ConnectionClosed(DbConnection connection, ConnectionEndEventData eventData) => ReleaseEndedTransaction(eventData.Context);

    public Task ConnectionClosedAsync(DbConnection connection, ConnectionEndEventData eventData)
    {
        ReleaseEndedTransaction(eventData.Context);
        return Task.CompletedTask;
    }

    // --- statements outside a transaction ------------------------------------------------------------------

    public InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        if (WritesAlone(command, eventData) is { } gate)
        {
            gate.EnterForStatement();
        }

        return result;
    }

    public async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        if (WritesAlone(command, eventData) is { } gate)
        {
            await gate.EnterForStatementAsync(cancellationToken);
        }

        return result;
    }

    public InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        if (WritesAlone(command, eventData) is { } gate)
        {
            gate.EnterForStatement();
        }

        return result;
    }

    public async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        if (WritesAlone(command, eventData) is { } gate)
        {
            await gate.EnterForStatementAsync(cancellationToken);
        }

        return result;
    }

    // An INSERT/UPDATE ... RETURNING holds SQLite's write lock until its statement is reset: until the reader is disposed.
    public InterceptionResult DataReaderDisposing(DbCommand command, DataReaderDisposingEventData eventData, InterceptionResult result)
    {
        EndStatement(eventData.Context);
        return result;
    }

    public int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        EndStatement(eventData.Context);
        return result;
    }

    public ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result,
        CancellationToken cancellationToken = default)
    {
        EndStatement(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public void CommandFailed(DbCommand command, CommandErrorEventData eventData) => EndStatement(eventData.Context);

    public Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        EndStatement(eventData.Context);
        return Task.CompletedTask;
    }

    public void CommandCanceled(DbCommand command, CommandEndEventData eventData) => EndStatement(eventData.Context);

    public Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        EndStatement(eventData.Context);
        return Task.CompletedTask;
    }

    private static SqliteContextWriteGate? WritesAlone(DbCommand command, CommandEventData eventData)
    {
        if (eventData.Context is not SqliteIdentityHubDbContext db)
        {
            return null;
        }

        db.WriteGate.ReleaseIfTransactionEnded();
        return command.Transaction is null && !IsRead(command.CommandText) ? db.WriteGate : null;
    }

    private static bool IsRead(string sql)
    {
        var text = sql.AsSpan().TrimStart();
        return text.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase) || text.StartsWith("PRAGMA", StringComparison.OrdinalIgnoreCase);
    }

    private static void EndStatement(DbContext? context)
    {
        if (context is SqliteIdentityHubDbContext db)
        {
            db.WriteGate.ExitStatement();
        }
    }

    private static void EndTransaction(DbContext? context)
    {
        if (context is SqliteIdentityHubDbContext db)
        {
            db.WriteGate.ExitTransaction();
        }
    }

    private static void FailedTransaction(TransactionErrorEventData eventData)
    {
        // A failed commit leaves the transaction open (the caller rolls back or disposes it): the gate stays held; a
        // transaction that never began, or is gone, holds nothing.
        if (eventData.Context is SqliteIdentityHubDbContext db)
        {
            db.WriteGate.ReleaseIfTransactionEnded();
        }
    }

    private static void ReleaseEndedTransaction(DbContext? context)
    {
        if (context is SqliteIdentityHubDbContext db)
        {
            db.WriteGate.ReleaseIfTransactionEnded();
        }
    }
}

/// <summary>
/// What one context holds of its database's write gate (<see cref="SqliteWriteGateInterceptor"/>): entered by a save,
/// a transaction and a lone statement, possibly nested; the gate is released when the last of them ends. A context is
/// used by one flow at a time, so no locking here.
/// </summary>
public sealed class SqliteContextWriteGate(DbContext context)
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    private SemaphoreSlim? _gate;
    private SemaphoreSlim? _held;
    private int _depth;
    private bool _transaction;
    private bool _statement;

    /// <summary>Whether this context holds its database's gate now (tests and diagnostics).</summary>
    public bool IsHeld => _held is not null;

    /// <summary>
    /// The gate of the database with this connection string (as given to UseSqlite), for a writer of the process that
    /// uses a connection of its own instead of a context (<see cref="SqliteDatabase"/>): it waits here like every context.
    /// </summary>
    public static SemaphoreSlim ForDatabase(string connectionString) => Gates.GetOrAdd(connectionString, _ => new SemaphoreSlim(1, 1));

    private SemaphoreSlim? Gate()
    {
        if (_gate is null && context.Database.GetConnectionString() is { } name)
        {
            _gate = ForDatabase(name);
        }

        return _gate;
    }

    public void Enter()
    {
        if (_depth == 0)
        {
            var gate = Gate();
            gate?.Wait();
            _held = gate;
        }

        _depth++;
    }

    public async ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        if (_depth == 0)
        {
            var gate = Gate();
            if (gate is not null)
            {
                await gate.WaitAsync(cancellationToken);
            }

            _held = gate;
        }

        _depth++;
    }

    public void Exit()
    {
        if (_depth == 0)
        {
            return;
        }

        if (--_depth == 0)
        {
            var held = _held;
            _held = null;
            held?.Release();
        }
    }

    public void EnterForTransaction()
    {
        // A new transaction means the previous one is gone, whether or not its end was seen.
        ReleaseIfTransactionEnded();
        Enter();
        _transaction = true;
    }

    public async ValueTask EnterForTransactionAsync(CancellationToken cancellationToken)
    {
        ReleaseIfTransactionEnded();
        await EnterAsync(cancellationToken);
        _transaction = true;
    }

    public void ExitTransaction()
    {
        if (_transaction)
        {
            _transaction = false;
            Exit();
        }
    }

    /// <summary>The transaction's hold, once the context has no transaction any more (disposed without commit or rollback).</summary>
    public void ReleaseIfTransactionEnded()
    {
        if (_transaction && context.Database.CurrentTransaction is null)
        {
            ExitTransaction();
        }
    }

    public void EnterForStatement()
    {
        Enter();
        _statement = true;
    }

    public async ValueTask EnterForStatementAsync(CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken);
        _statement = true;
    }

    public void ExitStatement()
    {
        if (_statement)
        {
            _statement = false;
            Exit();
        }
    }

    /// <summary>Everything this context holds (it is disposed or returned to the pool).</summary>
    public void ReleaseAll()
    {
        _transaction = false;
        _statement = false;
        if (_depth > 0)
        {
            _depth = 1;
            Exit();
        }
    }
}
