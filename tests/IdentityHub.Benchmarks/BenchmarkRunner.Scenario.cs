using System.Diagnostics;

namespace IdentityHub.Benchmarks;

/// <summary>One scenario's run: the load over its measured window, what the server, the database and the machine spent in it.</summary>
public sealed partial class BenchmarkRunner
{
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
            MetricsScrape? counters0 = null, counters1 = null;
            var prometheusPath = PrometheusPath();
            // Once before the load: the server's first scrape (its exporter's first collection) is slow, and the window's
            // start must not wait for it while the load runs on.
            ServerMetrics.Scrape(server.BaseUrl, prometheusPath);

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
                    serverCpu0 = ProcStats.CpuTime(server.Pid) ?? TimeSpan.Zero;
                    dbCpu0 = postgres?.PostmasterPid is { } pg ? ProcStats.TreeCpuTime(pg) : TimeSpan.Zero;
                    logLines0 = server.LoggedLines;
                    machine0 = ProcStats.MachineBusyTime();
                    liveCpu = (Stopwatch.StartNew(), serverCpu0, 0);
                    windowClock.Restart();
                    // Inside the server's CPU reads (and the window's clock): the hashes counted fall within the CPU measured.
                    counters0 = ServerMetrics.Scrape(server.BaseUrl, prometheusPath);
                },
                end: () =>
                {
                    counters1 = ServerMetrics.Scrape(server.BaseUrl, prometheusPath);
                    windowClock.Stop();
                    serverCpu1 = ProcStats.CpuTime(server.Pid) ?? serverCpu0;
                    dbCpu1 = postgres?.PostmasterPid is { } pg ? ProcStats.TreeCpuTime(pg) : TimeSpan.Zero;
                    result.ServerLogLines = server.LoggedLines - logLines0;
                    machine1 = ProcStats.MachineBusyTime();
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
            if (counters0 is { } c0 && counters1 is { } c1)
            {
                if ((c0.Failed ?? c1.Failed) is { } failed)
                {
                    // No figures rather than wrong ones (a failed start read as zero would put the warm-up's hashes in the window).
                    _log.WriteLine($"  {name}: no counters of the server's (hash CPU, JIT, GC): {failed}");
                }
                else
                {
                    // The hash series appears with the first hash: none exposed at the start is none before the window.
                    result.Counters = ServerMetrics.Between(c0, c1);
                }
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
}
