using Microsoft.Data.Sqlite;

namespace IdentityHub.Server.Data;

/// <summary>
/// The process's SQLite database (registered only when Database:Provider is Sqlite): its connection string as the
/// contexts use it, their connection set-up and their write gate, for a writer that keeps a connection of its own
/// (the audit log's group commit, <see cref="Audit.SqliteAuditAppender"/>).
/// </summary>
public sealed class SqliteDatabase(string connectionString, SqliteConnectionSetup setup)
{
    public string ConnectionString { get; } = connectionString;

    /// <summary>The one write gate of this database in the process (<see cref="SqliteWriteGateInterceptor"/>).</summary>
    public SemaphoreSlim WriteGate { get; } = SqliteContextWriteGate.ForDatabase(connectionString);

    /// <summary>
    /// A new open connection, set up as the contexts' are (busy timeout, WAL, the configured synchronous level): the
    /// caller's own, outside Microsoft.Data.Sqlite's pool (Pooling=False): it is long-lived, and its
    /// native handle must never go back to the pool, where a transaction a failed rollback left open would be lent to the
    /// next context; closed, SQLite rolls such a transaction back.
    /// </summary>
    public SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(ConnectionString) { Pooling = false }.ToString());
        try
        {
            connection.Open();
            setup.Configure(connection);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
