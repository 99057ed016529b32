using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace IdentityHub.Benchmarks;

/// <summary>The whole benchmark: limits, then per database one RS256 server run and one ES256 server run.</summary>
public sealed class BenchmarkRunner
{
    private const string AdminClientId = "bench-admin";

    private static readonly string[] FirstRunOrder =
    [
        Scenarios.Discovery, Scenarios.Jwks, Scenarios.ClientCredentialsRs256, Scenarios.Introspection,
        Scenarios.UserInfo, Scenarios.Refresh, Scenarios.SignIn,
    ];

    private readonly BenchmarkOptions _options;
    private readonly string _serverDll;
    private readonly string _work;
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

    private int PasswordHashIterations()
    {
        var directory = Path.GetDirectoryName(_serverDll)!;
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(directory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(directory, "appsettings.Development.json"), optional: true)
            .AddInMemoryCollection(_options.ServerEnvironment
                .Where(e => e.Key.StartsWith("Accounts__", StringComparison.Ordinal))
                .Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), (string?)e.Value)))
            .Build();
        return config.GetValue("Accounts:PasswordHashIterations", 210_000);
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
        var users = _options.Scenarios.Contains(Scenarios.SignIn) ? _options.Users
            : _options.Scenarios.Any(s => s is Scenarios.Refresh or Scenarios.UserInfo or Scenarios.Introspection) ? Math.Min(8, _options.Users)
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

    private async Task<ScenarioResult> RunScenarioAsync(string db, string name, ServerProcess server, Seed seed, PostgresInstance? postgres,
        Func<Task<LoadPlan>>? planner = null, Func<LoadPlan, ScenarioResult, Task>? check = null)
    {
        var result = new ScenarioResult { Database = db, Name = name, Limit = Scenarios.Limit(name, _limits) };
        try
        {
            ProcStats.ResetPeakRss(server.Pid);
            var plan = planner is null ? await PlanAsync(name, server.BaseUrl, seed) : await planner();
            if (result.Limit is not null)
            {
                // On a shared machine the hardware's rate drifts with the other work: the ratio uses the limit
                // measured again right here, with the server idle, just before the load starts.
                result.LimitBefore = Limits.MeasureFor(name, _limits, Math.Min(_options.LimitSeconds, 2));
                result.Limit = result.LimitBefore;
            }

            var stateful = plan.Kind != "static";
            result.Generator = stateful || !_useWrk ? ".NET" : "wrk";

            var windowClock = new Stopwatch();
            TimeSpan serverCpu0 = default, serverCpu1 = default, dbCpu0 = default, dbCpu1 = default, machine0 = default, machine1 = default;
            var logLines0 = 0;
            (double Seconds, double Hashes)? hashCpu0 = null, hashCpu1 = null;
            var countHashes = name == Scenarios.SignIn;
            var liveCpu = (Clock: Stopwatch.StartNew(), Cpu: TimeSpan.Zero, Percent: 0.0);
            string ServerStatus()
            {
                var cpu = ProcStats.CpuTime(server.Pid) ?? TimeSpan.Zero;
                var elapsed = liveCpu.Clock.Elapsed.TotalSeconds;
                if (elapsed > 0.4)
                {
                    liveCpu.Percent = 100 * (cpu - liveCpu.Cpu).TotalSeconds / elapsed;
                    liveCpu = (Stopwatch.StartNew(), cpu, liveCpu.Percent);
                }

                return $"server CPU {liveCpu.Percent:0}%  RSS {Mb(ProcStats.Rss(server.Pid) ?? 0)}";
            }

            var window = new Window(
                start: () =>
                {
                    hashCpu0 = countHashes ? ServerMetrics.HashCpu(server.BaseUrl) : null;
                    serverCpu0 = ProcStats.CpuTime(server.Pid) ?? TimeSpan.Zero;
                    dbCpu0 = postgres?.PostmasterPid is { } pg ? ProcStats.TreeCpuTime(pg) : TimeSpan.Zero;
                    logLines0 = server.LoggedLines;
                    machine0 = ProcStats.MachineBusyTime();
                    liveCpu = (Stopwatch.StartNew(), serverCpu0, 0);
                    windowClock.Restart();
                },
                end: () =>
                {
                    windowClock.Stop();
                    serverCpu1 = ProcStats.CpuTime(server.Pid) ?? serverCpu0;
                    dbCpu1 = postgres?.PostmasterPid is { } pg ? ProcStats.TreeCpuTime(pg) : TimeSpan.Zero;
                    result.ServerLogLines = server.LoggedLines - logLines0;
                    machine1 = ProcStats.MachineBusyTime();
                    hashCpu1 = countHashes ? ServerMetrics.HashCpu(server.BaseUrl) : null;
                },
                serverStatus: ServerStatus,
                progress: _progress,
                label: $"[{db}] {name}",
                seconds: _options.DurationSeconds);

            var load = stateful || !_useWrk
                ? await LoadDrivers.RunGeneratorAsync(plan, _work, window)
                : await LoadDrivers.RunWrkAsync(plan, _options.WrkThreads, _work, window);
            _progress.Done();

            var wall = Math.Max(windowClock.Elapsed.TotalSeconds, 0.001);
            result.Operations = load.Operations;
            result.HttpRequests = load.HttpRequests;
            result.Errors = load.Errors;
            result.ErrorSamples = load.ErrorSamples;
            result.Seconds = load.Seconds;
            result.PerSecond = load.OperationsPerSecond;
            result.P50Ms = load.P50Ms;
            result.P95Ms = load.P95Ms;
            result.P99Ms = load.P99Ms;
            result.MaxMs = load.MaxMs;
            result.ServerCpuPercent = 100 * (serverCpu1 - serverCpu0).TotalSeconds / wall;
            result.ServerWindowSeconds = wall;
            // The series appears with the first hash: none before the window is zero.
            if (hashCpu1 is { } h1)
            {
                var h0 = hashCpu0 ?? (0, 0);
                result.HashCpuSeconds = h1.Seconds - h0.Seconds;
                result.Hashes = h1.Hashes - h0.Hashes;
            }
            result.DatabaseCpuPercent = postgres?.PostmasterPid is null ? null : 100 * (dbCpu1 - dbCpu0).TotalSeconds / wall;
            result.GeneratorCpuPercent = 100 * load.GeneratorCpuSeconds / wall;
            result.PeakRssBytes = ProcStats.PeakRss(server.Pid) ?? 0;
            if (result.LimitBefore is { } before)
            {
                // The limit again, with the load stopped, so that the ratio compares with the host's speed over the
                // scenario rather than at one moment (it moved by half within minutes on the shared machine).
                result.LimitAfter = Limits.MeasureFor(name, _limits, Math.Min(_options.LimitSeconds, 2));
                result.Limit = (before + result.LimitAfter.Value) / 2;
            }

            result.OtherCpuPercent = Math.Max(0, 100 * (machine1 - machine0).TotalSeconds / wall
                - result.ServerCpuPercent - (result.DatabaseCpuPercent ?? 0) - result.GeneratorCpuPercent);
            if (check is null)
            {
                await PostCheckAsync(name, plan, server.BaseUrl, seed);
            }
            else
            {
                await check(plan, result);
            }

            if (Scenarios.Target(name) is { } target)
            {
                result.Target = target.Text;
                result.TargetMet = target.Met(result, _limits);
            }
        }
        catch (Exception e)
        {
            _progress.Done();
            result.Failure = e.GetType().Name + ": " + e.Message;
            result.Errors = Math.Max(result.Errors, 1);
        }

        _log.WriteLine($"  {name,-26} {result.PerSecond,10:N0}/s  p50 {result.P50Ms:0.0} ms  p99 {result.P99Ms:0.0} ms  errors {result.Errors}  " +
                       $"server CPU {result.ServerCpuPercent:0}% ({result.ServerCpuMsPerOperation:0.000} ms/op" +
                       (result.ServerCpuMsBesidesHashing is { } besides ? $", {besides:0.000} besides password hashing" : "") + ")" + $"{(result.DatabaseCpuPercent is { } d ? $"  PostgreSQL CPU {d:0}%" : "")}  " +
                       $"generator CPU {result.GeneratorCpuPercent:0}% ({result.Generator})  other processes {result.OtherCpuPercent:0}%  peak RSS {Mb(result.PeakRssBytes)}" +
                       (result.LimitRatio is { } ratio ? $"  {ratio * 100:0}% of limit" : "") +
                       (result.Failure is null ? "" : "  FAILED: " + result.Failure) +
                       (result.ErrorSamples.Count > 0 ? "  e.g. " + result.ErrorSamples[0] : ""));
        if (result.ServerLogLines > 0 || result.Failure is not null)
        {
            var lines = server.RecentLog;
            var firstError = lines.Select((l, i) => (l, i)).FirstOrDefault(x => x.l.Contains("Exception", StringComparison.Ordinal)).i;
            _log.WriteLine($"    the server logged {result.ServerLogLines} lines during the scenario; from its log:");
            foreach (var line in lines.Skip(Math.Max(0, firstError - 2)).Take(12))
            {
                _log.WriteLine("      " + line);
            }
        }

        return result;
    }

    private async Task<LoadPlan> PlanAsync(string name, string baseUrl, Seed seed)
    {
        var plan = new LoadPlan
        {
            BaseUrl = baseUrl,
            Concurrency = _options.Concurrency,
            WarmupSeconds = _options.WarmupSeconds,
            DurationSeconds = _options.DurationSeconds,
        };
        using var http = OidcFlows.CreateClient(baseUrl, 8);
        switch (name)
        {
            case Scenarios.Discovery:
                plan.Path = "/.well-known/openid-configuration";
                break;
            case Scenarios.Jwks:
                plan.Path = "/.well-known/jwks";
                break;
            case Scenarios.ClientCredentialsRs256 or Scenarios.ClientCredentialsEs256:
                plan.Method = "POST";
                plan.Path = "/connect/token";
                plan.Body = "grant_type=client_credentials";
                plan.Headers["Authorization"] = OidcFlows.Basic(seed.ServiceClient.ClientId, seed.ServiceClient.ClientSecret).ToString();
                var sample = await OidcFlows.TokenAsync(http, seed.ServiceClient, null, CancellationToken.None, ("grant_type", "client_credentials"));
                var alg = JsonDocument.Parse(Convert.FromBase64String(Pad(sample.AccessToken.Split('.')[0]))).RootElement.GetProperty("alg").GetString();
                var expected = name == Scenarios.ClientCredentialsEs256 ? "ES256" : "RS256";
                if (alg != expected)
                {
                    throw new InvalidOperationException($"The server signs access tokens with {alg}, not {expected}.");
                }

                break;
            case Scenarios.UserInfo:
            {
                var tokens = await OidcFlows.SignInAsync(http, seed.WebClient, seed.Users[0], seed.Password);
                plan.Path = "/connect/userinfo";
                plan.Headers["Authorization"] = "Bearer " + tokens.AccessToken;
                break;
            }

            case Scenarios.Introspection:
            {
                var tokens = await OidcFlows.SignInAsync(http, seed.WebClient, seed.Users[0], seed.Password);
                plan.Method = "POST";
                plan.Path = "/connect/introspect";
                plan.Body = OidcFlows.Query(("token", tokens.AccessToken), ("token_type_hint", "access_token"));
                plan.Headers["Authorization"] = OidcFlows.Basic(seed.WebClient.ClientId, seed.WebClient.ClientSecret).ToString();
                using var request = new HttpRequestMessage(HttpMethod.Post, plan.Path)
                {
                    Content = new StringContent(plan.Body, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
                };
                request.Headers.TryAddWithoutValidation("Authorization", plan.Headers["Authorization"]);
                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode || !JsonDocument.Parse(body).RootElement.GetProperty("active").GetBoolean())
                {
                    throw new InvalidOperationException("Introspection does not answer active=true for a fresh access token: " + body);
                }

                break;
            }

            case Scenarios.Refresh:
            {
                // One refresh token per worker, each from a whole sign-in of its own (its own grant).
                plan.Kind = "refresh";
                plan.Client = seed.WebClient;
                var tokens = new string[_options.Concurrency];
                await Parallel.ForEachAsync(Enumerable.Range(0, tokens.Length), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
                {
                    var set = await OidcFlows.SignInAsync(http, seed.WebClient, seed.Users[i % seed.Users.Count], seed.Password);
                    tokens[i] = set.RefreshToken ?? throw new InvalidOperationException("The sign-in gave no refresh token (offline_access).");
                });
                plan.RefreshTokens = [.. tokens];
                break;
            }

            case Scenarios.SignIn:
                plan.Kind = "signin";
                plan.Client = seed.WebClient;
                plan.Users = [.. seed.Users];
                plan.Password = seed.Password;
                break;
            default:
                throw new InvalidOperationException("Unknown scenario " + name);
        }

        return plan;
    }

    /// <summary>
    /// After a scenario, checks that the server still answers as the protocol requires where the load
    /// could hide a regression: a refresh token redeemed once is refused the second time (rotation with
    /// reuse detection), and a revoked access token is inactive at introspection.
    /// </summary>
    private static async Task PostCheckAsync(string name, LoadPlan plan, string baseUrl, Seed seed)
    {
        using var http = OidcFlows.CreateClient(baseUrl, 2);
        switch (name)
        {
            case Scenarios.Refresh:
                try
                {
                    await OidcFlows.RefreshAsync(http, seed.WebClient, plan.RefreshTokens[0]);
                    throw new InvalidOperationException("A refresh token redeemed before was accepted again (no rotation).");
                }
                catch (FlowException e) when (e.Message.Contains("400", StringComparison.Ordinal) && e.Message.Contains("invalid_grant", StringComparison.Ordinal))
                {
                }

                break;

            case Scenarios.Introspection:
                var token = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(plan.Body!)["token"].ToString();
                using (var revoke = new HttpRequestMessage(HttpMethod.Post, "/connect/revoke")
                       {
                           Content = new FormUrlEncodedContent([KeyValuePair.Create("token", token), KeyValuePair.Create("token_type_hint", "access_token")]),
                       })
                {
                    revoke.Headers.Authorization = OidcFlows.Basic(seed.WebClient.ClientId, seed.WebClient.ClientSecret);
                    using var revoked = await http.SendAsync(revoke);
                    if (!revoked.IsSuccessStatusCode)
                    {
                        throw new InvalidOperationException($"Revocation of the introspected access token answered {(int)revoked.StatusCode}.");
                    }
                }

                using (var introspect = new HttpRequestMessage(HttpMethod.Post, "/connect/introspect")
                       {
                           Content = new StringContent(plan.Body!, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
                       })
                {
                    introspect.Headers.Authorization = OidcFlows.Basic(seed.WebClient.ClientId, seed.WebClient.ClientSecret);
                    using var answer = await http.SendAsync(introspect);
                    var body = await answer.Content.ReadAsStringAsync();
                    if (!answer.IsSuccessStatusCode || JsonDocument.Parse(body).RootElement.GetProperty("active").GetBoolean())
                    {
                        throw new InvalidOperationException("A revoked access token is still active at introspection: " + body);
                    }
                }

                break;
        }
    }

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }
}
