using System.Collections.Concurrent;
using Npgsql;

namespace IdentityHub.Server.Data;

/// <summary>
/// PostgreSQL only: the token grants' one-statement writes (Oidc/RefreshTokens/RefreshTokenEntries: a refresh token's
/// rotation, an authorization code's redemption), executed through a separate <see cref="NpgsqlDataSource"/> in Npgsql's
/// multiplexing mode instead of the request's DbContext connection (<see cref="DatabaseOptions.MultiplexTokenStatements"/>).
/// <para>
/// Why: every refresh and every code exchange is one such statement, the request's only round trip to the database. With a
/// pooled connection each, 32 requests at once keep 32 PostgreSQL backends waking for one statement each; multiplexing
/// writes the statements of concurrent requests together over a few connections, and each backend reads several at once.
/// Measured on the 2-core benchmark machine (issue 9, fifteenth session, docs/benchmarks.md): about 0.12 ms less server
/// CPU and 0.08 ms less PostgreSQL CPU per refresh. The same statements through the same separate data source without
/// multiplexing gave nothing: the gain is the multiplexing, not leaving EF Core's raw-SQL path.
/// </para>
/// <para>
/// What it takes: only what multiplexing allows and these statements need. Each statement is one autocommit statement (its
/// own implicit transaction, as through the DbContext); a DbContext with a transaction of its own keeps its statements
/// (the caller decides: RefreshTokenEntries). Asynchronous only, no session state.
/// The connection string is the application's (with <see cref="PostgresConnectionDefaults"/>), so the same server, user,
/// TLS and auto-preparation; its connections are a pool of their own, opened as needed.
/// Npgsql 11 removes multiplexing: on that upgrade this class goes, and the statements return to the DbContext.
/// </para>
/// </summary>
public sealed class MultiplexedStatements : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _source;

    /// <summary>EF Core's raw-SQL placeholders ({0}, {1}, ...) rewritten once per statement text as PostgreSQL's ($1, $2, ...).</summary>
    private readonly ConcurrentDictionary<string, string> _positional = new(ReferenceEqualityComparer.Instance);

    private MultiplexedStatements(NpgsqlDataSource? source) => _source = source;

    /// <summary>SQLite, or multiplexing switched off: every statement stays on the DbContext.</summary>
    public static MultiplexedStatements None { get; } = new(null);

    /// <summary>The multiplexing pool's connections at most (unless the connection string's Max Pool Size is lower).</summary>
    public static int MaxConnections { get; } = 2 * Environment.ProcessorCount;

    /// <summary>What its connections are called in PostgreSQL's pg_stat_activity (after the connection string's own name).</summary>
    public const string ApplicationName = "IdentityHub token statements";

    /// <summary>
    /// A multiplexing data source over <paramref name="connectionString"/> (the application's, defaults applied), its
    /// connections named <see cref="ApplicationName"/> so that an operator tells them from the DbContexts' pool; its pool
    /// holds at most <see cref="MaxConnections"/> (multiplexing opens a connection only when those it has are busy: 18 under
    /// the benchmark's 32 concurrent refreshes when uncapped, next to the DbContexts' 16). A connection string Npgsql cannot multiplex
    /// (pooling off, several hosts) keeps every statement on the DbContext, with a warning.
    /// </summary>
    public static MultiplexedStatements For(string connectionString, ILogger logger)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!builder.Pooling || builder.Host?.Contains(',', StringComparison.Ordinal) == true)
        {
            return Declined(logger, "pooling is off or several hosts are named");
        }

        builder.Multiplexing = true;
        // Few connections, so that each carries many statements at once: 2 per processor, at most the string's Max Pool
        // Size. On the 2-core benchmark machine 4 connections against the 18 it opened uncapped: about 7% more refreshes
        // and PostgreSQL's CPU per refresh 0.20 against 0.25 ms in four alternated pairs (docs/benchmarks.md, fifteenth
        // session).
        builder.MaxPoolSize = Math.Min(builder.MaxPoolSize, MaxConnections);
        builder.ApplicationName = string.IsNullOrEmpty(builder.ApplicationName) ? ApplicationName : $"{builder.ApplicationName} ({ApplicationName})";
        try
        {
            return new(NpgsqlDataSource.Create(builder.ConnectionString));
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException or InvalidOperationException)
        {
            return Declined(logger, exception.GetType().Name);
        }
    }

    private static MultiplexedStatements Declined(ILogger logger, string reason)
    {
        // The reason names a setting, never the connection string (it may hold a password).
        logger.LogWarning("Database:MultiplexTokenStatements is on but the connection string cannot be multiplexed ({Reason}): " +
                          "the token statements stay on the DbContext.", reason);
        return None;
    }

    /// <summary>Whether statements go through the multiplexing data source at all.</summary>
    public bool Enabled => _source is not null;

    /// <summary>
    /// Executes <paramref name="sql"/> (EF Core raw-SQL form: {0}, {1}, ... for <paramref name="arguments"/>, each a value
    /// or null, typed as EF Core's raw SQL types them) as one autocommit statement and returns its row count. The caller
    /// decides that it may leave its context (no transaction of the context: RefreshTokenEntries).
    /// </summary>
    public async Task<int> ExecuteAsync(string sql, object?[] arguments, CancellationToken cancellationToken)
    {
        var source = _source ?? throw new InvalidOperationException("The multiplexed token statements are not enabled.");
        await using var command = source.CreateCommand(_positional.GetOrAdd(sql, Positional));
        foreach (var argument in arguments)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = argument ?? DBNull.Value });
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>{n} to $(n + 1).</summary>
    internal static string Positional(string sql) => RawSqlPlaceholders.Renumber(sql, "$", 1);

    public ValueTask DisposeAsync() => _source?.DisposeAsync() ?? ValueTask.CompletedTask;
}
