using System.Data.Common;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Tests.Hosting;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// Direct access to a test server's database, as someone with database rights (the attacker the chain is
/// for) has it: plain SQL, past the application. And the server's command-line jobs run as separate processes.
/// </summary>
public sealed class AuditDatabase(TestDatabase database)
{
    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = Open();
        await connection.OpenAsync();
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        await using var connection = Open();
        await connection.OpenAsync();
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>The node's rows in chain order, read through EF Core (no tracking).</summary>
    public async Task<List<AuditEvent>> RowsAsync(string nodeId = AuditFixture.NodeId)
    {
        await using var db = Context();
        return await db.AuditEvents.AsNoTracking().Where(e => e.NodeId == nodeId).OrderBy(e => e.Sequence).ToListAsync();
    }

    /// <summary>Inserts a row with plain SQL, every column as given (the database picks the id).</summary>
    public Task<int> InsertAsync(AuditEvent e) => ExecuteAsync(
        "INSERT INTO \"AuditEvents\" (\"OccurredAtUtc\", \"Category\", \"EventType\", \"Outcome\", \"Reason\", \"ActorKind\", \"ActorId\", " +
        "\"ActorName\", \"SubjectId\", \"EnterpriseId\", \"ClientId\", \"TargetType\", \"TargetId\", \"DepartmentCode\", \"IpAddress\", " +
        "\"UserAgent\", \"SessionId\", \"CorrelationId\", \"Before\", \"After\", \"Data\", \"NodeId\", \"Sequence\", \"PreviousHash\", \"Hash\") " +
        "VALUES (@t, @c, @et, @o, @r, @ak, @ai, @an, @s, @e, @cl, @tt, @ti, @d, @ip, @ua, @sid, @co, @b, @a, @da, @n, @q, @p, @h)",
        ("@t", DateTime.SpecifyKind(e.OccurredAtUtc, DateTimeKind.Utc)), ("@c", e.Category), ("@et", e.EventType), ("@o", e.Outcome), ("@r", e.Reason),
        ("@ak", e.ActorKind), ("@ai", e.ActorId), ("@an", e.ActorName), ("@s", e.SubjectId), ("@e", e.EnterpriseId), ("@cl", e.ClientId),
        ("@tt", e.TargetType), ("@ti", e.TargetId), ("@d", e.DepartmentCode), ("@ip", e.IpAddress), ("@ua", e.UserAgent), ("@sid", e.SessionId),
        ("@co", e.CorrelationId), ("@b", e.Before), ("@a", e.After), ("@da", e.Data), ("@n", e.NodeId), ("@q", e.Sequence), ("@p", e.PreviousHash),
        ("@h", e.Hash));

    public IdentityHubDbContext Context() => database.Provider == "Postgres"
        ? new PostgresIdentityHubDbContext(new DbContextOptionsBuilder<PostgresIdentityHubDbContext>().UseNpgsql(database.ConnectionString).Options)
        : new SqliteIdentityHubDbContext(new DbContextOptionsBuilder<SqliteIdentityHubDbContext>().UseSqlite(database.ConnectionString).Options);

    /// <summary>Runs <c>dotnet IdentityHub.Server.dll {command}</c> on this database; returns its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> RunCommandAsync(string command, IReadOnlyDictionary<string, string>? extra = null)
    {
        var environment = ProcessEnvironment(database);
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        await using var process = ServerProcess.Start(environment, command);
        var exitCode = await process.WaitForExitAsync();
        return (exitCode, process.StandardOutput + process.StandardError);
    }

    /// <summary>Development settings of a server process on this database, with the development keys the test servers use.</summary>
    public static Dictionary<string, string> ProcessEnvironment(TestDatabase database) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Development",
        ["Database__Provider"] = database.Provider,
        ["Database__DataDirectory"] = database.DataDirectory,
        ["ConnectionStrings__IdentityHub"] = database.ConnectionString,
        ["Oidc__DevelopmentCertificateDirectory"] = Path.Combine(RepositoryRoot(), "certs-dev"),
        ["DemoData__Enabled"] = "false",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
    };

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IdentityHub.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("IdentityHub.sln not found above " + AppContext.BaseDirectory);
    }

    private DbConnection Open() => database.Provider == "Postgres"
        ? new NpgsqlConnection(database.ConnectionString)
        : new SqliteConnection(database.ConnectionString + ";Pooling=False");

    private static DbCommand Command(DbConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
