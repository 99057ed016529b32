using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IdentityHub.Benchmarks;

/// <summary>The IdentityHub server as a child process: <c>dotnet IdentityHub.Server.dll</c> on a loopback port.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _log = new();
    private int _warnings;

    private ServerProcess(Process process, string baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public int Pid => _process.Id;

    /// <summary>Lines the server wrote (it logs at Warning and above), counted.</summary>
    public int LoggedLines => Volatile.Read(ref _warnings);

    public IReadOnlyList<string> RecentLog
    {
        get
        {
            lock (_log)
            {
                return [.. _log];
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// <c>dotnet IdentityHub.Server.dll [args]</c> in the build output (the content root, where appsettings.json lies), its
    /// output redirected, with the server's settings and none of this process's ASPNETCORE_ variables.
    /// </summary>
    internal static ProcessStartInfo StartInfo(string serverDll, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(serverDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(serverDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return start;
    }

    /// <summary>
    /// <c>dotnet IdentityHub.Server.dll migrate</c> with the server's settings: the schema created or upgraded by a job of its
    /// own, as docs/deployment.md has a city's PostgreSQL nodes do (Database:MigrateOnStart=false on the nodes).
    /// </summary>
    public static async Task MigrateAsync(string serverDll, IReadOnlyDictionary<string, string> environment, TextWriter log)
    {
        var start = StartInfo(serverDll, environment, "migrate");
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The migration job did not finish within 3 minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"The migration job exited with code {process.ExitCode}:{Environment.NewLine}{await output}{await error}");
        }

        log.WriteLine($"  schema migrated by `dotnet IdentityHub.Server.dll migrate` in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    public static async Task<ServerProcess> StartAsync(string serverDll, IReadOnlyDictionary<string, string> environment, TextWriter log)
    {
        var port = FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        var start = StartInfo(serverDll, environment);
        start.Environment["ASPNETCORE_URLS"] = baseUrl;

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var server = new ServerProcess(process, baseUrl);
        process.OutputDataReceived += (_, e) => server.Collect(e.Data);
        process.ErrorDataReceived += (_, e) => server.Collect(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"The server exited with code {process.ExitCode} while starting:{Environment.NewLine}{string.Join(Environment.NewLine, server.RecentLog)}");
            }

            try
            {
                using var response = await http.GetAsync("/.well-known/openid-configuration");
                if (response.IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(3))
            {
                await server.DisposeAsync();
                throw new TimeoutException("The server did not answer discovery within 3 minutes.");
            }

            await Task.Delay(200);
        }

        log.WriteLine($"  server pid {process.Id} ready on {baseUrl} after {clock.Elapsed.TotalSeconds:0.0} s");
        // Warnings written while starting (e.g. about the data protection key ring) are not load warnings.
        Interlocked.Exchange(ref server._warnings, 0);
        return server;
    }

    private void Collect(string? line)
    {
        if (line is null)
        {
            return;
        }

        Interlocked.Increment(ref _warnings);
        lock (_log)
        {
            _log.Enqueue(line);
            while (_log.Count > 200)
            {
                _log.Dequeue();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            ProcStats.Terminate(_process.Id);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }
}
