using Npgsql;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>
/// A database of its own for one test server: a fresh SQLite file, or a fresh database on the
/// PostgreSQL instance that ./test.sh starts (IDENTITYHUB_TEST_POSTGRES). A missing PostgreSQL is a
/// failure, never a skip.
/// </summary>
public abstract class TestDatabase : IAsyncDisposable
{
    public abstract string Provider { get; }

    public abstract string ConnectionString { get; }

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("identityhub-test-").FullName;

    public static async Task<TestDatabase> CreateAsync(string provider) => provider switch
    {
        "Sqlite" => new SqliteTestDatabase(),
        "Postgres" => await PostgresTestDatabase.CreateAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, null),
    };

    public virtual ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a finishing server; the temp folder is cleaned by the OS.
        }

        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private sealed class SqliteTestDatabase : TestDatabase
    {
        public override string Provider => "Sqlite";

        public override string ConnectionString => $"Data Source={Path.Combine(DataDirectory, "identityhub.db")}";
    }

    private sealed class PostgresTestDatabase(string admin, string name) : TestDatabase
    {
        public override string Provider => "Postgres";

        public override string ConnectionString => new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = true }.ConnectionString;

        public static async Task<TestDatabase> CreateAsync()
        {
            var admin = Environment.GetEnvironmentVariable("IDENTITYHUB_TEST_POSTGRES");
            if (string.IsNullOrWhiteSpace(admin))
            {
                throw new InvalidOperationException(
                    "IDENTITYHUB_TEST_POSTGRES is not set. Run the tests with ./test.sh, which starts a throwaway PostgreSQL " +
                    "and sets it (for example Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres).");
            }

            var name = "ih_test_" + Guid.NewGuid().ToString("N");
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
            return new PostgresTestDatabase(admin, name);
        }

        public override async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync();
            await base.DisposeAsync();
        }
    }
}
