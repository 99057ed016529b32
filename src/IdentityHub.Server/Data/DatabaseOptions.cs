using System.ComponentModel.DataAnnotations;

namespace IdentityHub.Server.Data;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Section "Database". The connection string is <c>ConnectionStrings:IdentityHub</c>.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>Sqlite (default, embedded) or Postgres.</summary>
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>
    /// Where the embedded database and the data protection key ring live when no connection string is
    /// given. Relative paths are resolved against the content root. Default: "data".
    /// </summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// SQLite only (the database runs in WAL mode): Normal (default) syncs the write-ahead log at checkpoints, so a
    /// commit survives a crash of the process but the last commits may be lost to a power cut or an operating-system
    /// crash (the database stays consistent); Full syncs it at every commit. See docs/deployment.md.
    /// </summary>
    public SqliteSynchronous SqliteSynchronous { get; set; } = SqliteSynchronous.Normal;

    /// <summary>Apply pending migrations when the server starts (default true). Otherwise run the "migrate" command.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>
    /// A save detects the changes of its tracked entities once, before its interceptors run, instead of once in each
    /// interceptor that lists the tracked entries and once more in EF Core's own save (five full passes per save on
    /// PostgreSQL: the append-only check, the audit chain, the registry's and the person caches' invalidation, the save
    /// itself). Default true; false restores EF Core's automatic detection at every step (docs/benchmarks.md, "Sign-in,
    /// twelfth session").
    /// </summary>
    public bool DetectChangesOncePerSave { get; set; } = true;

    /// <summary>
    /// PostgreSQL only: the token grants' one-statement writes (a refresh token's rotation, an authorization code's
    /// redemption) go through a separate Npgsql data source in multiplexing mode (<see cref="MultiplexedStatements"/>),
    /// which sends the statements of concurrent requests together over a few connections instead of one pooled
    /// connection each. Default true; false sends them through the request's DbContext as every other statement
    /// (docs/benchmarks.md, "Refresh, fifteenth session").
    /// </summary>
    public bool MultiplexTokenStatements { get; set; } = true;

    /// <summary>
    /// SQLite only: the token grants' one-command writes (a refresh token's rotation, an authorization code's redemption)
    /// of concurrent requests are committed together, one transaction per group, each command behind a savepoint of its
    /// own (<see cref="SqliteTokenStatements"/>), instead of one transaction and one pass through the write gate each.
    /// Default true; false gives each its own transaction on the request's DbContext (docs/benchmarks.md, "Refresh,
    /// fifteenth session").
    /// </summary>
    public bool SqliteGroupTokenStatements { get; set; } = true;
}
