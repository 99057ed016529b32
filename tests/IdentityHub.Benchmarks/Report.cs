using System.Globalization;
using System.Text;

namespace IdentityHub.Benchmarks;

public sealed record ReportInput(
    string Command,
    DateTimeOffset StartedAt,
    string LoadAtStart,
    string LoadAtEnd,
    BenchmarkOptions Options,
    LimitFigures Limits,
    IReadOnlyList<ScenarioResult> Results,
    IReadOnlyList<string> Notes,
    bool Wrk,
    string GcMode,
    string Runtime);

/// <summary>The markdown report: machine, command, limits, one table per database, the targets.</summary>
public static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Markdown(ReportInput input)
    {
        var o = input.Options;
        var l = input.Limits;
        var s = new StringBuilder();
        s.AppendLine("# IdentityHub benchmark results");
        s.AppendLine();
        s.AppendLine("Written by the benchmark tool (`tests/IdentityHub.Benchmarks`, see [benchmarks.md](benchmarks.md)). " +
                     "The load generator, the server and PostgreSQL share the same cores: on a machine where other work runs at the " +
                     "same time (see the load averages) absolute figures are noisy; the ratios to the limits, measured in the same run, less so.");
        s.AppendLine();
        s.AppendLine($"- Command: `{input.Command}`");
        s.AppendLine($"- Date: {input.StartedAt:yyyy-MM-dd HH:mm} UTC");
        s.AppendLine($"- Machine: {Environment.ProcessorCount} cores (nproc), {ProcStats.CpuModel()}, {ProcStats.MemoryTotal()} memory, " +
                     $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}; load average {input.LoadAtStart} at the start, {input.LoadAtEnd} at the end");
        s.AppendLine($"- Server: Release build started as `dotnet IdentityHub.Server.dll`, {input.Runtime}, {input.GcMode}, " +
                     "ASPNETCORE_ENVIRONMENT=Development, logging at Warning" +
                     (o.ServerEnvironment.Count > 0 ? ", " + string.Join(", ", o.ServerEnvironment.Select(e => $"{e.Key}={e.Value}")) : ""));
        s.AppendLine($"- Load: {o.Concurrency} concurrent connections/workers, {o.WarmupSeconds.ToString(Invariant)} s warm-up and " +
                     $"{o.DurationSeconds.ToString(Invariant)} s measured per scenario, on loopback from a separate process: " +
                     (input.Wrk ? $"wrk ({o.WrkThreads} thread) for the stateless scenarios, the built-in .NET generator (a minimal HTTP/1.1 client, one blocking keep-alive connection per worker thread) for refresh and signin"
                         : "the built-in .NET generator (a minimal HTTP/1.1 client, one blocking keep-alive connection per worker thread)"));
        foreach (var note in input.Notes.Where(n => n.StartsWith("PostgreSQL", StringComparison.Ordinal)).Distinct())
        {
            s.AppendLine($"- {note}");
        }

        s.AppendLine();
        s.AppendLine("## Limits measured in this run");
        s.AppendLine();
        s.AppendLine("In-process, one thread each, before the servers start (the ratios use the same one-thread measurement x cores, " +
                     "repeated just before and just after each scenario: their mean). \"All cores at once\" runs one thread per core at " +
                     "the same time: below cores x one core, the cores are not independent (hyperthreads, or a shared host); it explains " +
                     "a shortfall but the targets do not use it.");
        s.AppendLine();
        s.AppendLine($"| limit | one core | x {l.Cores} cores | all {l.Cores} cores at once |");
        s.AppendLine("| --- | ---: | ---: | ---: |");
        var all = l.AllCoresAtOnce;
        string At(double? v, double limit) => v is { } x ? $"{N(x)}/s ({Pct(x / limit)})" : "-";
        s.AppendLine($"| RS256 whole-JWT signing (create + sign a typical at+jwt, JsonWebTokenHandler, RSA 2048) | {N(l.Rs256PerCore)}/s | {N(l.Rs256Limit)}/s | {At(all?.Rs256, l.Rs256Limit)} |");
        s.AppendLine($"| ES256 whole-JWT signing (P-256) | {N(l.Es256PerCore)}/s | {N(l.Es256Limit)}/s | {At(all?.Es256, l.Es256Limit)} |");
        s.AppendLine($"| Password hash verification (Identity V3, PBKDF2-HMAC-SHA512, {l.PasswordHashIterations:N0} iterations) | {l.PasswordHashesPerCore:0.0}/s | {l.PasswordHashLimit:0.0}/s | " +
                     $"{(all is { } a ? $"{a.PasswordHashes:0.0}/s ({Pct(a.PasswordHashes / l.PasswordHashLimit)})" : "-")} |");
        s.AppendLine();

        foreach (var db in input.Results.Select(r => r.Database).Distinct())
        {
            var rows = input.Results.Where(r => r.Database == db).ToList();
            var compare = db == "sqlite" ? input.Results.Where(r => r.Database == "postgres").ToDictionary(r => r.Name) : null;
            s.AppendLine($"## {(db == "postgres" ? "PostgreSQL" : "SQLite")}");
            s.AppendLine();
            s.Append("| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU | server CPU ms/op | DB CPU | generator CPU | other processes CPU | peak RSS | vs limit | projected on idle cores | target | met |");
            s.AppendLine(compare is { Count: > 0 } ? " vs PostgreSQL |" : "");
            s.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
            s.AppendLine(compare is { Count: > 0 } ? " ---: |" : "");
            foreach (var r in rows)
            {
                var met = r.Failure is not null ? "failed"
                    : r.TargetMet is null ? "-"
                    : r.TargetMet.Value && r.Errors == 0 && r.PeakRssBytes <= Scenarios.PeakRssTargetBytes ? "yes" : "**no**";
                s.Append($"| {r.Name} ({r.Generator}) | {N(r.PerSecond)} | {r.P50Ms:0.0} | {r.P95Ms:0.0} | {r.P99Ms:0.0} | {r.Errors} | " +
                         $"{r.ServerCpuPercent:0}% | {r.ServerCpuMsPerOperation:0.000} | {(r.DatabaseCpuPercent is { } d ? $"{d:0}%" : "-")} | {r.GeneratorCpuPercent:0}% | {r.OtherCpuPercent:0}% | " +
                         $"{r.PeakRssBytes / (1024.0 * 1024):0} MB | {(r.LimitRatio is { } ratio ? $"{Pct(ratio)} of {N(r.Limit!.Value)}/s{(r.LimitBefore is { } before && r.LimitAfter is { } after ? $" ({N(before)} before, {N(after)} after)" : "")}" : "-")} | " +
                         $"{N(r.ProjectedPerSecond(l.Cores))}{(r.Limit is > 0 ? $" ({Pct(r.ProjectedPerSecond(l.Cores) / r.Limit.Value)})" : "")} | {r.Target ?? "-"} | {met} |");
                if (compare is { Count: > 0 })
                {
                    s.Append(compare.TryGetValue(r.Name, out var pg) && pg.PerSecond > 0
                        ? $" {Pct(r.PerSecond / pg.PerSecond)}{(r.PerSecond >= 0.7 * pg.PerSecond ? "" : " **(<70%)**")} |"
                        : " - |");
                }

                s.AppendLine();
            }

            s.AppendLine();
            foreach (var r in rows.Where(r => r.ServerCpuMsBesidesHashing is not null))
            {
                s.AppendLine($"{r.Name}: server CPU {r.ServerCpuMsPerOperation:0.0} ms/op, of which password hashing {r.HashCpuMsPerOperation:0.0} " +
                             $"({r.Hashes:0} hashes of {r.HashCpuMsPerHash:0.0} ms each, the server's identityhub.password_hashes.cpu_time) and everything " +
                             $"else {r.ServerCpuMsBesidesHashing:0.0}; with {r.PerSecond * r.ServerWindowSeconds:0} flows in the window and up to " +
                             "--concurrency in flight at its edges, the split is only as good as the flows are many (--duration).");
                s.AppendLine();
            }

            var runtime = rows.Where(r => r.Counters is { JitMethods: not null }).ToList();
            if (runtime.Count > 0)
            {
                // A window that still compiles (tier-1 recompilation of hot framework code, first calls of rare paths) or collects
                // more than its neighbours shows here: the server's own System.Runtime counters, scraped at the window's edges.
                s.AppendLine("Runtime in the window (the server's System.Runtime counters): " + string.Join("; ", runtime.Select(r =>
                    $"{r.Name} JIT {r.Counters!.Value.JitMethods:0} methods, {1000 * r.Counters.Value.JitSeconds:0} ms" +
                    (r.PerSecond > 0 && r.ServerWindowSeconds > 0 ? $" ({1000 * r.Counters.Value.JitSeconds / (r.PerSecond * r.ServerWindowSeconds):0.000} ms/op)" : "") +
                    $", GC {r.Counters.Value.GcCollections:0} collections, {1000 * r.Counters.Value.GcPauseSeconds:0} ms paused" +
                    (r.Counters.Value.AllocatedBytes is { } bytes && r.PerSecond > 0 && r.ServerWindowSeconds > 0
                        ? $", {bytes / 1024 / (r.PerSecond * r.ServerWindowSeconds):0.0} KB allocated per op" : ""))) + ".");
                s.AppendLine();
            }
        }

        s.AppendLine("Columns: req/s is operations per second (a whole sign-in flow counts once); latencies are per operation; " +
                     "CPU is in % of one core over the measured window (200% = both cores of a 2-core machine): the server process, " +
                     "PostgreSQL's processes (when the tool started it), the load generator, and every other process on the machine " +
                     "(/proc/stat busy time less the three: the disturbance from other work); server CPU ms/op is the server's CPU time " +
                     "per operation, the figure least disturbed by other work on a shared machine; peak RSS is the server's VmHWM over the " +
                     "scenario (reset at its start); \"vs limit\" compares with the limit x cores, measured again with the server idle " +
                     "just before and just after the scenario, their mean (client credentials: signing; signin: password hashing), since on a shared machine it drifts; targets are issue 9's, set for PostgreSQL on a 2-core machine. " +
                     "\"met\" also needs zero errors and peak RSS <= 250 MB and is judged on the measured req/s. " +
                     "\"projected on idle cores\" is cores / (server + PostgreSQL + generator CPU seconds per operation): what the " +
                     "scenario would reach with the whole machine, at the CPU cost per operation measured here (which contention inflates); " +
                     "in brackets its ratio to the limit.");
        s.AppendLine();
        s.AppendLine("Scenarios:");
        s.AppendLine();
        foreach (var name in input.Results.Select(r => r.Name).Distinct())
        {
            s.AppendLine($"- {name}: {Scenarios.Describe(name)}");
        }

        var failures = input.Results.Where(r => r.Failure is not null || r.ErrorSamples.Count > 0).ToList();
        if (failures.Count > 0)
        {
            s.AppendLine();
            s.AppendLine("## Errors");
            s.AppendLine();
            foreach (var r in failures)
            {
                s.AppendLine($"- {r.Database}/{r.Name}: {r.Failure} {string.Join(" | ", r.ErrorSamples)}");
            }
        }

        var other = input.Notes.Where(n => !n.StartsWith("PostgreSQL", StringComparison.Ordinal)).ToList();
        if (other.Count > 0)
        {
            s.AppendLine();
            foreach (var n in other)
            {
                s.AppendLine($"- {n}");
            }
        }

        return s.ToString();
    }

    private static string Pct(double ratio) => (ratio * 100).ToString("0", Invariant) + "%";

    private static string N(double value) => value >= 100 ? value.ToString("N0", Invariant) : value.ToString("N1", Invariant);
}
