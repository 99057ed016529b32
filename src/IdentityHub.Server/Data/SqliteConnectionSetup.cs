using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace IdentityHub.Server.Data;

/// <summary>
/// How every SQLite connection of the process is set up, once per physical (pooled) connection, before its first
/// command: <c>busy_timeout</c> (another process that writes, such as a command-line job, is waited for inside
/// SQLite, in short steps, instead of by Microsoft.Data.Sqlite's 150 ms sleeps), <c>journal_mode=WAL</c> (readers
/// and the writer no longer block each other: a commit no longer stalls every reader, and a commit appends to the
/// write-ahead log instead of rewriting pages through a rollback journal) and <c>synchronous</c>
/// (<see cref="SqliteSynchronous"/>, see docs/deployment.md for what NORMAL and FULL keep after a power cut).
/// </summary>
public sealed class SqliteConnectionSetup(SqliteSynchronous synchronous, TimeSpan busyTimeout) : DbConnectionInterceptor
{
    // Keyed on the native handle: a pooled SqliteConnection reopens the same handle, a new one gets a new handle.
    private static readonly ConditionalWeakTable<object, object> Configured = new();

    private readonly string _pragmas = string.Create(CultureInfo.InvariantCulture,
        $"PRAGMA busy_timeout={(int)busyTimeout.TotalMilliseconds}; PRAGMA journal_mode=WAL; " +
        $"PRAGMA synchronous={(synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")};");

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Configure(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        // PRAGMAs run in-process, in microseconds: no reason to go asynchronous.
        Configure(connection);
        return Task.CompletedTask;
    }

    /// <summary>Sets up a connection opened outside EF Core (the audit log's own writer connection) like every other.</summary>
    public void Configure(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle } sqlite || Configured.TryGetValue(handle, out _))
        {
            return;
        }

        using var command = sqlite.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
        Configured.AddOrUpdate(handle, handle);
    }
}

/// <summary>Section "Database", key SqliteSynchronous: SQLite's <c>PRAGMA synchronous</c> in WAL mode.</summary>
public enum SqliteSynchronous
{
    /// <summary>
    /// The WAL is synced at checkpoints, not at each commit. A committed transaction survives a crash of the process;
    /// after a power cut or an operating-system crash the database is intact but the last commits may be missing.
    /// </summary>
    Normal,

    /// <summary>Each commit syncs the WAL: commits also survive a power cut, at one fsync per write transaction.</summary>
    Full,
}
