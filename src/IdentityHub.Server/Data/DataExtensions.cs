using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace IdentityHub.Server.Data;

public static class DataExtensions
{
    public static WebApplicationBuilder AddIdentityHubData(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DatabaseOptions>()
            .BindConfiguration(DatabaseOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // The model depends on Identity's schema version (passkeys are version 3): every host that opens the
        // database, the migrate command included, must see the same model as the migrations.
        builder.Services.Configure<Microsoft.AspNetCore.Identity.IdentityOptions>(o =>
            o.Stores.SchemaVersion = Microsoft.AspNetCore.Identity.IdentitySchemaVersions.Version3);
        var options = builder.Configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new();
        var dataDirectory = ResolveDataDirectory(builder.Environment, options);
        var connectionString = builder.Configuration.GetConnectionString("IdentityHub");

        switch (options.Provider)
        {
            case DatabaseProvider.Sqlite:
                if (string.IsNullOrWhiteSpace(connectionString))
                {
                    Directory.CreateDirectory(dataDirectory);
                    connectionString = $"Data Source={Path.Combine(dataDirectory, "identityhub.db")}";
                }

                // Pooled: a request rents a context instead of building one (and its service scope) anew. Every
                // connection in WAL mode with the configured synchronous level, every write through the one gate.
                var setup = new SqliteConnectionSetup(options.SqliteSynchronous, SqliteBusyTimeout);
                var gate = new SqliteWriteGateInterceptor();
                builder.Services.AddSingleton(new SqliteDatabase(connectionString, setup));
                builder.Services.AddDbContextPool<IdentityHubDbContext, SqliteIdentityHubDbContext>((services, db) =>
                    db.UseSqlite(connectionString, sqlite =>
                            sqlite.MigrationsAssembly(typeof(SqliteIdentityHubDbContext).Assembly.FullName))
                        .AddInterceptors(setup, gate)
                        .AddInterceptors(new Audit.AppendOnlyAuditInterceptor(), new Audit.AuditChainInterceptor())
                        .AddInterceptors(services.GetServices<IInterceptor>()));
                break;

            case DatabaseProvider.Postgres:
                if (string.IsNullOrWhiteSpace(connectionString))
                {
                    throw new Hosting.StartupConfigurationException(
                        "Database:Provider is Postgres but ConnectionStrings:IdentityHub is empty. " +
                        "Set it, for example Host=127.0.0.1;Port=5432;Database=identityhub;Username=identityhub;Password=...");
                }

                connectionString = PostgresConnectionDefaults.Apply(connectionString);
                builder.Services.AddDbContextPool<IdentityHubDbContext, PostgresIdentityHubDbContext>((services, db) =>
                    db.UseNpgsql(connectionString).AddInterceptors(new Audit.AppendOnlyAuditInterceptor(), new Audit.AuditChainInterceptor())
                        // Interceptors other parts register (shared mode: the registry cache invalidation).
                        .AddInterceptors(services.GetServices<IInterceptor>()));
                break;
        }

        return builder;
    }

    /// <summary>
    /// How long a SQLite statement waits inside SQLite for another process's write (a command-line job on the same
    /// file); the server's own writes queue in the write gate and never wait here.
    /// </summary>
    public static readonly TimeSpan SqliteBusyTimeout = TimeSpan.FromSeconds(10);

    public static string ResolveDataDirectory(IHostEnvironment environment, DatabaseOptions options) =>
        Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.DataDirectory));

    /// <summary>Applies pending migrations. EF Core takes a database-wide lock, so several nodes may call it at once.</summary>
    public static async Task MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        await db.Database.MigrateAsync(cancellationToken);
    }
}

/// <summary>
/// Npgsql settings IdentityHub relies on for its many short queries, applied unless the connection string sets them:
/// <c>No Reset On Close=true</c> (a pooled connection is not reset with DISCARD ALL each time it is returned: the
/// server keeps no session state, no SET, temporary table or session advisory lock) and <c>Max Auto Prepare=100</c>
/// (statements run five times on a connection become server-side prepared statements, so PostgreSQL stops parsing
/// and planning the same token, client and session lookups again on every request).
/// </summary>
public static class PostgresConnectionDefaults
{
    public static string Apply(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var keys = given.Keys.Cast<string>().Select(k => k.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant()).ToHashSet();
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!keys.Contains("noresetonclose"))
        {
            builder.NoResetOnClose = true;
        }

        if (!keys.Contains("maxautoprepare"))
        {
            builder.MaxAutoPrepare = 100;
        }

        return builder.ConnectionString;
    }
}

/// <summary>Used by <c>dotnet ef migrations add X --context SqliteIdentityHubDbContext</c>.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteIdentityHubDbContext>
{
    public SqliteIdentityHubDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteIdentityHubDbContext>().UseSqlite("Data Source=design.db")
            .UseApplicationServiceProvider(DesignTimeServices.Identity).Options);
}

/// <summary>Used by <c>dotnet ef migrations add X --context PostgresIdentityHubDbContext</c>.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresIdentityHubDbContext>
{
    public PostgresIdentityHubDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresIdentityHubDbContext>().UseNpgsql("Host=localhost;Database=design")
            .UseApplicationServiceProvider(DesignTimeServices.Identity).Options);
}

/// <summary>
/// Identity reads its schema version from IdentityOptions in the application's services; the
/// design-time contexts get the same version as the server (IdentityExtensions) so that migrations
/// include AspNetUserPasskeys (schema version 3).
/// </summary>
internal static class DesignTimeServices
{
    public static readonly IServiceProvider Identity = new ServiceCollection()
        .Configure<Microsoft.AspNetCore.Identity.IdentityOptions>(o =>
            o.Stores.SchemaVersion = Microsoft.AspNetCore.Identity.IdentitySchemaVersions.Version3)
        .BuildServiceProvider();
}
