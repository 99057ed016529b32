using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace IdentityHub.Benchmarks;

/// <summary>The whole benchmark: limits, then per database one RS256 server run and one ES256 server run.</summary>
public sealed partial class BenchmarkRunner
{
    private const string AdminClientId = "bench-admin";

    private static readonly string[] FirstRunOrder =
    [
        Scenarios.Discovery, Scenarios.Jwks, Scenarios.ClientCredentialsRs256, Scenarios.Introspection,
        Scenarios.UserInfo, Scenarios.Refresh, Scenarios.RefreshIdToken, Scenarios.RefreshEs256, Scenarios.SignIn,
    ];

    private readonly BenchmarkOptions _options;
    private readonly string _serverDll;
    private readonly string _work;
    private IConfiguration? _serverConfiguration;
    private readonly TextWriter _log = Console.Error;
    private readonly ProgressLine _progress = new(Console.Error);
    private readonly string _adminSecret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly bool _useWrk;
    private LimitFigures _limits = null!;

    private BenchmarkRunner(BenchmarkOptions options, string serverDll, string work, bool useWrk)
    {
        _options = options;
        _serverDll = serverDll;
        _work = work;
        _useWrk = useWrk;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        BenchmarkOptions options;
        try
        {
            options = BenchmarkOptions.Parse(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(BenchmarkOptions.Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(BenchmarkOptions.Usage);
            return 0;
        }

        var configuration = typeof(BenchmarkRunner).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var root = RepositoryRoot();
        var serverDll = Path.GetFullPath(options.ServerDll
            ?? Path.Combine(root ?? ".", "src", "IdentityHub.Server", "bin", configuration, "net10.0", "IdentityHub.Server.dll"));
        if (!File.Exists(serverDll))
        {
            Console.Error.WriteLine($"Server not found: {serverDll}. Build it (dotnet build -c Release) or pass --server-dll.");
            return 2;
        }

        if (!serverDll.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"WARNING: {serverDll} is not a Release build: its figures say little. Run with -c Release.");
        }

        var useWrk = options.Generator switch
        {
            "wrk" => LoadDrivers.WrkAvailable() ? true : throw new InvalidOperationException("--generator wrk: wrk is not on PATH (apt-get install wrk)."),
            "dotnet" => false,
            _ => LoadDrivers.WrkAvailable(),
        };

        var work = Directory.CreateTempSubdirectory("identityhub-bench-").FullName;
        try
        {
            var runner = new BenchmarkRunner(options, serverDll, work, useWrk);
            return await runner.RunAsync(args, root);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string? RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "IdentityHub.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }

    private async Task<int> RunAsync(string[] args, string? root)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var loadAtStart = ProcStats.LoadAverage();
        _log.WriteLine($"IdentityHub benchmark: {Environment.ProcessorCount} cores, {ProcStats.CpuModel()}, {ProcStats.MemoryTotal()}, load average {loadAtStart}");
        _log.WriteLine($"  server: {_serverDll}");
        _log.WriteLine($"  load generator: {(_useWrk ? $"wrk ({_options.WrkThreads} thread(s)) for the stateless scenarios, " : "")}built-in .NET generator (separate process){(_useWrk ? " for refresh and signin" : "")}");
        if (!_useWrk && _options.Generator == "auto")
        {
            _log.WriteLine("  (wrk is not on PATH: apt-get install wrk gives a cheaper generator for the stateless scenarios)");
        }

        var iterations = PasswordHashIterations();
        _log.WriteLine($"Limits (in-process, one thread, then one thread per core at once, {_options.LimitSeconds:0.#} s each):");
        _limits = Limits.Measure(iterations, _options.LimitSeconds, _log);

        var results = new List<ScenarioResult>();
        var notes = new List<string>();
        foreach (var db in _options.Databases)
        {
            results.AddRange(await RunDatabaseAsync(db, notes));
        }

        var loadAtEnd = ProcStats.LoadAverage();
        var command = "dotnet run -c Release --project tests/IdentityHub.Benchmarks --" + (args.Length == 0 ? "" : " " + string.Join(' ', args));
        var report = Report.Markdown(new ReportInput(command, startedAt, loadAtStart, loadAtEnd, _options, _limits, results, notes, _useWrk,
            ServerGcMode(), RuntimeVersion()));
        var output = _options.Output ?? Path.Combine(root ?? ".", "docs", "benchmark-results.md");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, report);
        _log.WriteLine();
        _log.WriteLine(report);
        _log.WriteLine($"Written to {Path.GetFullPath(output)}");
        if (_options.Json is not null)
        {
            await File.WriteAllTextAsync(_options.Json, JsonSerializer.Serialize(new { limits = _limits, results }, LoadGenerator.Json));
        }

        var failed = results.Where(r => r.Errors > 0 || r.Failure is not null || r.Operations == 0).ToList();
        foreach (var r in failed)
        {
            _log.WriteLine($"FAILED {r.Database}/{r.Name}: {r.Operations} operations, {r.Errors} errors {r.Failure} {string.Join(" | ", r.ErrorSamples)}");
        }

        return failed.Count == 0 ? 0 : 3;
    }

    private int PasswordHashIterations() => ServerConfiguration().GetValue("Accounts:PasswordHashIterations", 210_000);

    /// <summary>The server's Prometheus endpoint (Telemetry:PrometheusPath, "/metrics" by default; empty: none).</summary>
    private string? PrometheusPath() => ServerConfiguration().GetValue<string?>("Telemetry:PrometheusPath", "/metrics");

    /// <summary>
    /// The server's settings as it reads them: its appsettings (Development, as the tool runs it) and the --server-env
    /// overrides; read once (the build and the options do not change during a run).
    /// </summary>
    private IConfiguration ServerConfiguration()
    {
        var directory = Path.GetDirectoryName(_serverDll)!;
        return _serverConfiguration ??= new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(directory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(directory, "appsettings.Development.json"), optional: true)
            .AddInMemoryCollection(_options.ServerEnvironment
                .Where(e => e.Key.Contains("__", StringComparison.Ordinal))
                .Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), (string?)e.Value)))
            .Build();
    }

    private string ServerGcMode()
    {
        if (_options.ServerEnvironment.TryGetValue("DOTNET_gcServer", out var env))
        {
            return env == "1" ? "Server GC (DOTNET_gcServer=1)" : "Workstation GC (DOTNET_gcServer=0)";
        }

        var runtimeConfig = Path.ChangeExtension(_serverDll, ".runtimeconfig.json");
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(runtimeConfig));
            var server = json.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var props)
                && props.TryGetProperty("System.GC.Server", out var s) && s.GetBoolean();
            var concurrent = !(props.ValueKind == JsonValueKind.Object && props.TryGetProperty("System.GC.Concurrent", out var c) && !c.GetBoolean());
            return (server ? "Server GC" : "Workstation GC") + (concurrent ? "" : ", non-concurrent") + " (runtimeconfig)";
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException)
        {
            return "unknown";
        }
    }

    private static string RuntimeVersion() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

    private Dictionary<string, string> ServerEnvironment(string db, string connection, string dataDirectory, string algorithm)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Database__Provider"] = db == "postgres" ? "Postgres" : "Sqlite",
            ["ConnectionStrings__IdentityHub"] = connection,
            ["Database__DataDirectory"] = dataDirectory,
            ["Bootstrap__AdminClient__ClientId"] = AdminClientId,
            ["Bootstrap__AdminClient__ClientSecret"] = _adminSecret,
            ["DemoData__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft"] = "Warning",
            ["Oidc__SigningAlgorithm"] = algorithm,
            ["Oidc__DevelopmentCertificateDirectory"] = Path.Combine(_work, "certs"),
            // Every sign-in of the benchmark comes from 127.0.0.1: the per-IP sign-in limit (RateLimits, 1,000 a
            // minute by default) would measure the limiter, not the server. Failures stay limited per account.
            ["RateLimits__SignInPerIp__PermitLimit"] = "100000000",
        };
        if (db == "postgres")
        {
            // The schema comes from the migration job (RunDatabaseAsync), as on a city's nodes (docs/deployment.md).
            env["Database__MigrateOnStart"] = "false";
        }

        foreach (var (key, value) in _options.ServerEnvironment)
        {
            env[key] = value;
        }

        return env;
    }

    private async Task<List<ScenarioResult>> RunDatabaseAsync(string db, List<string> notes)
    {
        var results = new List<ScenarioResult>();
        var first = FirstRunOrder.Where(_options.Scenarios.Contains).ToList();
        var es256 = _options.Scenarios.Contains(Scenarios.ClientCredentialsEs256);
        _log.WriteLine($"[{db}]");
        var dbWork = Path.Combine(_work, db);
        Directory.CreateDirectory(dbWork);
        await using var postgres = db == "postgres" ? await PostgresInstance.StartAsync(_options.PostgresConnection, _work, _log, _options.PostgresSettings) : null;
        if (postgres is not null)
        {
            notes.Add("PostgreSQL: " + postgres.Description + ".");
        }

        var connection = postgres?.ConnectionString ?? $"Data Source={Path.Combine(dbWork, "data", "identityhub.db")}";
        var dataDirectory = Path.Combine(dbWork, "data");
        Directory.CreateDirectory(dataDirectory);
        if (postgres is not null)
        {
            // A city's PostgreSQL nodes (docs/deployment.md): the schema from a migration job, every server run of the tool
            // started with Database:MigrateOnStart=false. SQLite (a county's one node) migrates as it starts, its default.
            await ServerProcess.MigrateAsync(_serverDll, ServerEnvironment(db, connection, dataDirectory, "RS256"), _log);
        }

        var users = _options.Scenarios.Contains(Scenarios.SignIn) ? _options.Users
            : _options.Scenarios.Any(s => Scenarios.IsRefresh(s) || s is Scenarios.UserInfo or Scenarios.Introspection) ? Math.Min(8, _options.Users)
            : 0;
        Seed? seed = null;
        var audit = AuditScenarios.All.Where(_options.Scenarios.Contains).ToList();
        if (postgres is null && audit.Count > 0)
        {
            notes.Add($"{db}: the audit scenarios ({string.Join(", ", audit)}) run on PostgreSQL only.");
            audit.Clear();
        }

        if (first.Count > 0 || audit.Count > 0)
        {
            var environment = ServerEnvironment(db, connection, dataDirectory, "RS256");
            await using var server = await ServerProcess.StartAsync(_serverDll, environment, _log);
            seed = await Seeder.SeedAsync(server.BaseUrl, AdminClientId, _adminSecret, users, _log);
            foreach (var name in first)
            {
                results.Add(await RunScenarioAsync(db, name, server, seed, postgres));
                if (postgres is not null && (name != first[^1] || es256))
                {
                    await postgres.VacuumAsync(_log);
                }
            }

            if (audit.Count > 0)
            {
                var auditBenchmark = new AuditBenchmark(_options, server, postgres!, seed, AdminClientId, _adminSecret, _serverDll, environment, _log, _progress,
                    (name, plan, check) => RunScenarioAsync(db, name, server, seed, postgres, plan, check));
                results.AddRange(await auditBenchmark.RunAsync(notes));
            }

            notes.Add($"{db}: RS256 server run peak RSS over the whole run (VmHWM) {Mb(ProcStats.PeakRss(server.Pid) ?? 0)}.");
        }

        if (es256)
        {
            // A second server run signing with ES256, over the same database.
            ServerProcess? server = null;
            try
            {
                server = await ServerProcess.StartAsync(_serverDll, ServerEnvironment(db, connection, dataDirectory, "ES256"), _log);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                _log.WriteLine("  the ES256 server did not start: " + e.Message);
                results.Add(new ScenarioResult
                {
                    Database = db, Name = Scenarios.ClientCredentialsEs256, Errors = 1, Failure = "the ES256 server did not start: " + e.Message.Split('\n')[0],
                    Limit = Scenarios.Limit(Scenarios.ClientCredentialsEs256, _limits),
                });
            }

            if (server is not null)
            {
                await using (server)
                {
                    seed ??= await Seeder.SeedAsync(server.BaseUrl, AdminClientId, _adminSecret, users, _log);
                    results.Add(await RunScenarioAsync(db, Scenarios.ClientCredentialsEs256, server, seed, postgres));
                }
            }
        }

        return results;
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):0} MB";
}
