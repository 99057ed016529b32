using System.Globalization;

namespace IdentityHub.Benchmarks;

public sealed class UsageException(string message) : Exception(message);

/// <summary>Command-line options of the benchmark tool (see <see cref="Usage"/>).</summary>
public sealed class BenchmarkOptions
{
    public static readonly string[] AllScenarios =
    [
        IdentityHub.Benchmarks.Scenarios.Discovery,
        IdentityHub.Benchmarks.Scenarios.Jwks,
        IdentityHub.Benchmarks.Scenarios.ClientCredentialsRs256,
        IdentityHub.Benchmarks.Scenarios.ClientCredentialsEs256,
        IdentityHub.Benchmarks.Scenarios.Refresh,
        IdentityHub.Benchmarks.Scenarios.RefreshEs256,
        IdentityHub.Benchmarks.Scenarios.RefreshIdToken,
        IdentityHub.Benchmarks.Scenarios.UserInfo,
        IdentityHub.Benchmarks.Scenarios.Introspection,
        IdentityHub.Benchmarks.Scenarios.SignIn,
        AuditScenarios.Ingest,
        AuditScenarios.Queries,
    ];

    public const string Usage = """
        IdentityHub benchmark: measures the signing and password-hash limits in-process, starts the Release
        server (and, for PostgreSQL, a throwaway database), seeds it through the admin API and drives HTTP
        load from a separate process on loopback. Writes a markdown table.

        Usage: dotnet run -c Release --project tests/IdentityHub.Benchmarks -- [options]

          --db sqlite|postgres|both   database(s) to run against (default: postgres)
          --pg-connection CS          use this PostgreSQL server (a fresh database is created in it and dropped)
                                      instead of starting a throwaway one from the PostgreSQL binaries
          --pg-setting NAME=VALUE     extra setting for the throwaway PostgreSQL (repeatable), e.g.
                                      shared_preload_libraries=pg_stat_statements to list the statements of a scenario
          --duration SECONDS          measured time per scenario (default 10)
          --warmup SECONDS            warm-up per scenario, not measured (default 3)
          --concurrency N             concurrent connections / workers (default 32)
          --scenarios a,b,...         subset of: discovery, jwks, client-credentials-rs256, client-credentials-es256,
                                      refresh, refresh-id-token, refresh-es256, userinfo, introspection, signin, audit-ingest, audit-queries (default: all;
                                      the audit scenarios run on PostgreSQL only)
          --users N                   distinct users seeded for the sign-in flow (default 200)
          --audit-events N            events audit-queries seeds by binary COPY before it measures (default 1,000,000;
                                      the issue's figures: 10000000)
          --audit-writers N           concurrent requests of audit-ingest (default 128)
          --generator auto|wrk|dotnet load generator for the stateless scenarios (default auto: wrk when on PATH);
                                      refresh and signin always use the built-in .NET generator (they carry state)
          --wrk-threads N             wrk threads (default 1)
          --output FILE               markdown report (default docs/benchmark-results.md in the repository)
          --json FILE                 also write the results as JSON
          --server-dll PATH           the IdentityHub.Server.dll to start (default: the Release build in this repository)
          --server-env KEY=VALUE      extra environment variable for the server (repeatable), e.g. DOTNET_gcServer=0
          --quick                     1 s per scenario, 0.5 s warm-up, few users, 20,000 audit events: the smoke test
          --help
        """;

    public List<string> Databases { get; } = [];

    public string? PostgresConnection { get; private set; }

    public double DurationSeconds { get; private set; } = 10;

    public double WarmupSeconds { get; private set; } = 3;

    public int Concurrency { get; private set; } = 32;

    public List<string> Scenarios { get; private set; } = [.. AllScenarios];

    public int Users { get; private set; } = 200;

    public long AuditEvents { get; private set; } = 1_000_000;

    public int AuditWriters { get; private set; } = 128;

    public string Generator { get; private set; } = "auto";

    public int WrkThreads { get; private set; } = 1;

    public string? Output { get; private set; }

    public string? Json { get; private set; }

    public string? ServerDll { get; private set; }

    public Dictionary<string, string> ServerEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>Extra <c>-c NAME=VALUE</c> settings of the throwaway PostgreSQL (--pg-setting).</summary>
    public List<string> PostgresSettings { get; } = [];

    public bool Quick { get; private set; }

    public bool Help { get; private set; }

    /// <summary>Seconds each limit (signing, hashing) is measured for.</summary>
    public double LimitSeconds => Quick ? 0.5 : 3;

    public static BenchmarkOptions Parse(string[] args)
    {
        var o = new BenchmarkOptions();
        bool durationSet = false, warmupSet = false, usersSet = false, auditEventsSet = false;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{arg} needs a value.");
            switch (arg)
            {
                case "--db":
                    foreach (var db in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        switch (db.ToLowerInvariant())
                        {
                            case "sqlite": o.Databases.Add("sqlite"); break;
                            case "postgres" or "postgresql": o.Databases.Add("postgres"); break;
                            case "both": o.Databases.AddRange(["postgres", "sqlite"]); break;
                            default: throw new UsageException($"--db: unknown database \"{db}\" (sqlite, postgres or both).");
                        }
                    }

                    break;
                case "--pg-connection": o.PostgresConnection = Value(); break;
                case "--duration": o.DurationSeconds = Positive(arg, Value()); durationSet = true; break;
                case "--warmup": o.WarmupSeconds = NonNegative(arg, Value()); warmupSet = true; break;
                case "--concurrency": o.Concurrency = (int)Positive(arg, Value()); break;
                case "--users": o.Users = (int)Positive(arg, Value()); usersSet = true; break;
                case "--audit-events": o.AuditEvents = (long)Positive(arg, Value()); auditEventsSet = true; break;
                case "--audit-writers": o.AuditWriters = (int)Positive(arg, Value()); break;
                case "--scenarios":
                    o.Scenarios = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                    foreach (var s in o.Scenarios.Where(s => !AllScenarios.Contains(s)))
                    {
                        throw new UsageException($"--scenarios: unknown scenario \"{s}\". Known: {string.Join(", ", AllScenarios)}.");
                    }

                    break;
                case "--generator":
                    o.Generator = Value();
                    if (o.Generator is not ("auto" or "wrk" or "dotnet"))
                    {
                        throw new UsageException("--generator must be auto, wrk or dotnet.");
                    }

                    break;
                case "--wrk-threads": o.WrkThreads = (int)Positive(arg, Value()); break;
                case "--output": o.Output = Value(); break;
                case "--json": o.Json = Value(); break;
                case "--server-dll": o.ServerDll = Value(); break;
                case "--pg-setting":
                    var setting = Value();
                    if (setting.IndexOf('=') <= 0 || setting.Any(char.IsWhiteSpace))
                    {
                        throw new UsageException("--pg-setting needs NAME=VALUE (no spaces).");
                    }

                    o.PostgresSettings.Add(setting);
                    break;
                case "--server-env":
                    var pair = Value();
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new UsageException("--server-env needs KEY=VALUE.");
                    }

                    o.ServerEnvironment[pair[..eq]] = pair[(eq + 1)..];
                    break;
                case "--quick": o.Quick = true; break;
                case "--help" or "-h": o.Help = true; break;
                default: throw new UsageException($"Unknown option {arg}.");
            }
        }

        if (o.Databases.Count == 0)
        {
            o.Databases.Add("postgres");
        }

        var distinct = o.Databases.Distinct().ToList();
        o.Databases.Clear();
        o.Databases.AddRange(distinct);

        if (o.Quick)
        {
            if (!durationSet)
            {
                o.DurationSeconds = 1;
            }

            if (!warmupSet)
            {
                o.WarmupSeconds = 0.5;
            }

            if (!usersSet)
            {
                o.Users = 8;
            }

            if (!auditEventsSet)
            {
                o.AuditEvents = 20_000;
            }
        }

        return o;
    }

    private static double Positive(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new UsageException($"{name} must be a positive number.");

    private static double NonNegative(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v
            : throw new UsageException($"{name} must be zero or a positive number.");
}
