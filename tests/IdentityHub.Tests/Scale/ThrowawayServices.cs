using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Scale;

/// <summary>
/// A PostgreSQL cluster of the test's own, on a free loopback port, that the test may stop and start again (the shared
/// one of test.sh must stay up for the other tests). As root, runs as the postgres user (initdb refuses root).
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _directory;

    private ThrowawayPostgres(string bin, string directory, int port)
    {
        _bin = bin;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The connection strings' command timeout (Npgsql's "Command Timeout").</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=3;Command Timeout={CommandTimeout.TotalSeconds:0}";

    public static async Task<ThrowawayPostgres> StartAsync()
    {
        var bin = new[] { "/usr/local/bin" }.Concat(Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                : [])
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
            ?? throw new InvalidOperationException("PostgreSQL server binaries (initdb, pg_ctl) not found: run ./test.sh, which installs them.");
        var directory = Directory.CreateTempSubdirectory("identityhub-scale-pg-").FullName;
        if (Environment.UserName == "root")
        {
            await Processes.RunAsync("chown", "postgres:postgres", directory);
        }

        var postgres = new ThrowawayPostgres(bin, directory, TestPorts.Free());
        await postgres.AsPostgresAsync(Path.Combine(bin, "initdb"), "-D", Path.Combine(directory, "data"), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-locale");
        await postgres.StartAgainAsync();
        return postgres;
    }

    /// <summary>pg_ctl start on the same port and data (after <see cref="StopAsync"/>).</summary>
    public Task StartAgainAsync() => AsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_directory, "data"),
        "-l", Path.Combine(_directory, "server.log"),
        "-o", $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200",
        "-w", "start");

    /// <summary>pg_ctl stop -m fast: clients are disconnected, the port closes.</summary>
    public Task StopAsync() => AsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_directory, "data"), "-m", "fast", "-w", "stop");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await AsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private Task AsPostgresAsync(string file, params string[] args) =>
        Environment.UserName == "root" ? Processes.RunAsync("runuser", ["-u", "postgres", "--", file, .. args]) : Processes.RunAsync(file, args);
}

/// <summary>A Redis server of the test's own, which the test may kill (SIGKILL, as a crash) and start again on the same port.</summary>
public sealed class ThrowawayRedis : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("identityhub-scale-redis-").FullName;

    private ThrowawayRedis(int port) => Port = port;

    public int Port { get; }

    public string Configuration => "127.0.0.1:" + Port;

    private string PidFile => Path.Combine(_directory, "redis.pid");

    public static async Task<ThrowawayRedis> StartAsync()
    {
        var redis = new ThrowawayRedis(TestPorts.Free());
        await redis.StartAgainAsync();
        return redis;
    }

    public async Task StartAgainAsync()
    {
        File.Delete(PidFile);
        await Processes.RunAsync("redis-server", "--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--daemonize", "yes", "--pidfile", PidFile, "--logfile", Path.Combine(_directory, "redis.log"), "--dir", _directory,
            "--save", "", "--appendonly", "no");
        for (var i = 0; i < 100 && !await AcceptsAsync(); i++)
        {
            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL: no shutdown, connections drop.</summary>
    public async Task KillAsync()
    {
        var pid = int.Parse((await File.ReadAllTextAsync(PidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        process.Kill();
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or InvalidOperationException)
        {
            // Not running.
        }

        Directory.Delete(_directory, recursive: true);
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

internal static class Processes
{
    public static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException(file + " did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(guard.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}
