using System.Diagnostics;
using Npgsql;

namespace IdentityHub.Benchmarks;

/// <summary>
/// A PostgreSQL database for one benchmark run: a throwaway server started from the PostgreSQL binaries
/// as ./test.sh does (initdb as the postgres user when we are root, loopback only, fsync off), or a fresh
/// database on a server the caller names with --pg-connection.
/// </summary>
public sealed class PostgresInstance : IAsyncDisposable
{
    private readonly string? _directory;
    private readonly string? _binaries;
    private readonly string _adminConnection;
    private readonly string _database;

    private PostgresInstance(string? directory, string? binaries, string adminConnection, string database, int? postmasterPid)
    {
        _directory = directory;
        _binaries = binaries;
        _adminConnection = adminConnection;
        _database = database;
        PostmasterPid = postmasterPid;
    }

    /// <summary>The postmaster of a server we started (its backends' CPU is reported), else null.</summary>
    public int? PostmasterPid { get; }

    public string Description { get; private init; } = "";

    public string ConnectionString => new NpgsqlConnectionStringBuilder(_adminConnection) { Database = _database }.ConnectionString;

    public static async Task<PostgresInstance> StartAsync(string? existingConnection, string workDirectory, TextWriter log,
        IReadOnlyList<string>? settings = null)
    {
        var database = "ih_bench_" + Guid.NewGuid().ToString("N")[..12];
        if (!string.IsNullOrWhiteSpace(existingConnection))
        {
            await CreateDatabaseAsync(existingConnection, database);
            return new PostgresInstance(null, null, existingConnection, database, null) { Description = "the PostgreSQL server given with --pg-connection" };
        }

        var binaries = new[] { "/usr/local/bin" }
            .Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")) : [])
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
            ?? throw new InvalidOperationException(
                "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/local/bin or /usr/lib/postgresql/*/bin. " +
                "Install them (apt-get install postgresql) or pass --pg-connection.");

        var directory = Path.Combine(workDirectory, "pg");
        Directory.CreateDirectory(directory);
        var root = IsRoot();
        if (root)
        {
            // initdb refuses to run as root: run PostgreSQL as the postgres user.
            if (await RunAsync("id", ["postgres"], asPostgres: false, throwOnError: false) != 0)
            {
                await RunAsync("useradd", ["--system", "--home-dir", "/var/lib/postgresql", "--shell", "/bin/bash", "postgres"], asPostgres: false);
            }

            if (OperatingSystem.IsLinux())
            {
                File.SetUnixFileMode(workDirectory, (UnixFileMode)0b111_101_101);
            }
            await RunAsync("chown", ["postgres:postgres", directory], asPostgres: false);
        }

        var data = Path.Combine(directory, "data");
        var port = ServerProcess.FreePort();
        await RunAsync(Path.Combine(binaries, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"], root);
        await RunAsync(Path.Combine(binaries, "pg_ctl"),
        [
            "-D", data, "-l", Path.Combine(directory, "server.log"),
            "-o", $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB" +
                string.Concat((settings ?? []).Select(setting => " -c " + setting)),
            "-w", "start",
        ], root);
        var pidLine = (await File.ReadAllLinesAsync(Path.Combine(data, "postmaster.pid")))[0];
        var admin = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres";
        await CreateDatabaseAsync(admin, database);
        log.WriteLine($"  PostgreSQL ({binaries}) started on 127.0.0.1:{port}, pid {pidLine}{string.Concat((settings ?? []).Select(setting => ", " + setting))}");
        return new PostgresInstance(directory, binaries, admin, database, int.Parse(pidLine, System.Globalization.CultureInfo.InvariantCulture))
        {
            Description = $"throwaway PostgreSQL {await ServerVersionAsync(admin)} on loopback (fsync=off, synchronous_commit=off, full_page_writes=off, shared_buffers=256MB, as ./test.sh)",
        };
    }

    private static bool IsRoot()
    {
        try
        {
            return File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1] == "0";
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return false;
        }
    }

    private static async Task<string> ServerVersionAsync(string connection)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        return c.ServerVersion;
    }

    private static async Task CreateDatabaseAsync(string admin, string name)
    {
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<int> RunAsync(string file, string[] arguments, bool asPostgres, bool throwOnError = true)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && throwOnError)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await stdout}{await stderr}");
        }

        return process.ExitCode;
    }

    /// <summary>
    /// VACUUM (ANALYZE) of the benchmark's database between two scenarios, outside both windows (as pgbench vacuums before
    /// each run): the dead rows a write-heavy scenario leaves (each refresh updates one token row and inserts another)
    /// are cleaned up now instead of by autovacuum workers during the next scenario's window.
    /// </summary>
    public async Task VacuumAsync(TextWriter log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("VACUUM (ANALYZE)", connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
        log.WriteLine($"  VACUUM (ANALYZE) between scenarios: {clock.Elapsed.TotalSeconds:0.0} s");
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_directory is null)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_adminConnection);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", connection);
                await command.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException)
            {
            }

            return;
        }

        await RunAsync(Path.Combine(_binaries!, "pg_ctl"), ["-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop"], IsRoot(), throwOnError: false);
    }
}
