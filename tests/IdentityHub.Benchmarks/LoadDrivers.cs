using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IdentityHub.Benchmarks;

/// <summary>Callbacks of the runner around the measured window, and the live progress line.</summary>
public sealed class Window(Action start, Action end, Func<string> serverStatus, ProgressLine progress, string label, double seconds)
{
    public void Start() => start();

    public void End() => end();

    public void Progress(double elapsed, string? rate, double generatorCpuPercent) =>
        progress.Update($"{label}  {Math.Min(elapsed, seconds):0.0}/{seconds:0.#} s  {rate ?? "(wrk reports at the end)"}  {serverStatus()}  generator CPU {generatorCpuPercent:0}%");
}

/// <summary>One status line that rewrites itself on a terminal and prints every few seconds into a log.</summary>
public sealed class ProgressLine(TextWriter output)
{
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private readonly Stopwatch _sinceLast = Stopwatch.StartNew();
    private int _width;

    public void Update(string text)
    {
        if (_terminal)
        {
            if (_sinceLast.ElapsedMilliseconds < 250)
            {
                return;
            }

            output.Write("\r" + text.PadRight(_width));
            _width = text.Length;
        }
        else
        {
            if (_sinceLast.ElapsedMilliseconds < 3000)
            {
                return;
            }

            output.WriteLine("    " + text);
        }

        _sinceLast.Restart();
        output.Flush();
    }

    public void Done()
    {
        if (_terminal && _width > 0)
        {
            output.Write("\r" + new string(' ', _width) + "\r");
            output.Flush();
        }

        _width = 0;
    }
}

public static class LoadDrivers
{
    public static bool WrkAvailable() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "wrk")));

    /// <summary>
    /// wrk (C, epoll) for one fixed request: a warm-up run, then the measured run. Its CPU is the
    /// getrusage(RUSAGE_CHILDREN) growth over the measured run; latency percentiles come from its Lua done().
    /// </summary>
    public static async Task<LoadResult> RunWrkAsync(LoadPlan plan, int threads, string workDirectory, Window window)
    {
        var script = Path.Combine(workDirectory, "wrk-" + Guid.NewGuid().ToString("N")[..8] + ".lua");
        await File.WriteAllTextAsync(script, WrkScript(plan));
        var connections = Math.Max(plan.Concurrency, threads);
        if (plan.WarmupSeconds > 0)
        {
            // A freshly started server's first requests compile (JIT) for longer than a short warm-up on a busy
            // machine: warm up again until a warm-up run completes requests, for at most 30 s more.
            var warm = await RunWrkOnceAsync(plan, script, threads, connections, (int)Math.Ceiling(plan.WarmupSeconds), null);
            var extra = System.Diagnostics.Stopwatch.StartNew();
            while (warm.Requests == 0 && extra.Elapsed < TimeSpan.FromSeconds(30))
            {
                warm = await RunWrkOnceAsync(plan, script, threads, connections, Math.Max(2, (int)Math.Ceiling(plan.WarmupSeconds)), null);
            }

            if (warm.Requests == 0)
            {
                throw new InvalidOperationException("wrk made no request during the warm-up: " + warm.Output);
            }
        }

        var seconds = (int)Math.Ceiling(plan.DurationSeconds);
        var childrenBefore = ProcStats.ChildrenCpuTime();
        window.Start();
        var run = await RunWrkOnceAsync(plan, script, threads, connections, seconds, window);
        window.End();
        var cpu = ProcStats.ChildrenCpuTime() - childrenBefore;
        if (run.Json is null)
        {
            throw new InvalidOperationException("wrk printed no result: " + run.Output);
        }

        var j = run.Json.Value;
        var errors = j.GetProperty("connect").GetInt64() + j.GetProperty("read").GetInt64() + j.GetProperty("write").GetInt64()
            + j.GetProperty("status").GetInt64() + j.GetProperty("timeout").GetInt64();
        var requests = j.GetProperty("requests").GetInt64();
        var samples = new List<string>();
        if (errors > 0)
        {
            samples.Add($"wrk: connect {j.GetProperty("connect")}, read {j.GetProperty("read")}, write {j.GetProperty("write")}, " +
                        $"status>=400 {j.GetProperty("status")}, timeout {j.GetProperty("timeout")}");
        }

        return new LoadResult
        {
            Operations = requests - j.GetProperty("status").GetInt64(),
            HttpRequests = requests,
            Errors = errors,
            ErrorSamples = samples,
            Seconds = j.GetProperty("duration").GetInt64() / 1e6,
            P50Ms = j.GetProperty("p50").GetDouble() / 1000,
            P95Ms = j.GetProperty("p95").GetDouble() / 1000,
            P99Ms = j.GetProperty("p99").GetDouble() / 1000,
            MaxMs = j.GetProperty("max").GetDouble() / 1000,
            GeneratorCpuSeconds = cpu.TotalSeconds,
        };
    }

    private sealed record WrkRun(long Requests, JsonElement? Json, string Output);

    private static async Task<WrkRun> RunWrkOnceAsync(LoadPlan plan, string script, int threads, int connections, int seconds, Window? window)
    {
        var start = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
                     "-d", seconds.ToString(CultureInfo.InvariantCulture) + "s", "--timeout", "30s", "-s", script, plan.BaseUrl + plan.Path,
                 })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        var exited = process.WaitForExitAsync();
        while (!exited.IsCompleted)
        {
            await Task.WhenAny(exited, Task.Delay(500));
            if (window is not null && ProcStats.CpuTime(process.Id) is { } cpu)
            {
                window.Progress(clock.Elapsed.TotalSeconds, null, 100 * cpu.TotalSeconds / Math.Max(clock.Elapsed.TotalSeconds, 0.001));
            }
        }

        await exited;
        var output = await stdout + await stderr;
        var marker = output.IndexOf("WRKJSON ", StringComparison.Ordinal);
        if (marker < 0)
        {
            return new WrkRun(0, null, output);
        }

        var line = output[(marker + "WRKJSON ".Length)..].Split('\n')[0];
        var json = JsonDocument.Parse(line).RootElement.Clone();
        return new WrkRun(json.GetProperty("requests").GetInt64(), json, output);
    }

    private static string WrkScript(LoadPlan plan)
    {
        static string Lua(string value) => " [==[" + value + "]==] ";
        var s = new StringBuilder();
        s.AppendLine($"wrk.method = {Lua(plan.Method)}");
        if (plan.Body is not null)
        {
            s.AppendLine($"wrk.body = {Lua(plan.Body)}");
            s.AppendLine($"wrk.headers[\"Content-Type\"] = {Lua(plan.ContentType ?? "application/x-www-form-urlencoded")}");
        }

        foreach (var (name, value) in plan.Headers)
        {
            s.AppendLine($"wrk.headers[{Lua(name)}] = {Lua(value)}");
        }

        s.AppendLine("""
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format('WRKJSON {"requests":%d,"duration":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%.0f,"p95":%.0f,"p99":%.0f,"max":%.0f}\n',
                summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
                latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
            end
            """);
        return s.ToString();
    }

    /// <summary>The built-in .NET generator as a separate process (this program, "generate" verb).</summary>
    public static async Task<LoadResult> RunGeneratorAsync(LoadPlan plan, string workDirectory, Window window)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var planFile = Path.Combine(workDirectory, $"plan-{id}.json");
        var resultFile = Path.Combine(workDirectory, $"result-{id}.json");
        await File.WriteAllTextAsync(planFile, JsonSerializer.Serialize(plan, LoadGenerator.Json));
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The generator must not be what the window measures: without tiered compilation its methods are compiled once,
        // optimised, at their first call in the warm-up, so that it does not compile code in the measured window (with
        // tiering, a sign-in's methods, called a few times a second, were still reaching tier 1 there: the JIT was a
        // third of the generator's CPU in a loaded window, twelfth session), and its CPU per operation is that of the
        // requests themselves.
        start.Environment["DOTNET_TieredCompilation"] = "0";
        foreach (var a in new[] { typeof(LoadGenerator).Assembly.Location, "generate", planFile, resultFile })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("the generator did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        var measureStart = TimeSpan.Zero;
        var cpuAtStart = TimeSpan.Zero;
        var started = false;
        var ended = false;
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line == "MEASURE" && !started)
            {
                started = true;
                window.Start();
                measureStart = clock.Elapsed;
                cpuAtStart = ProcStats.CpuTime(process.Id) ?? TimeSpan.Zero;
            }
            else if (line == "END" && started && !ended)
            {
                ended = true;
                window.End();
            }
            else if (line.StartsWith("PROGRESS ", StringComparison.Ordinal) && started && !ended)
            {
                var parts = line.Split(' ');
                var elapsed = (clock.Elapsed - measureStart).TotalSeconds;
                var ops = long.Parse(parts[1], CultureInfo.InvariantCulture);
                var errors = long.Parse(parts[2], CultureInfo.InvariantCulture);
                var cpu = (ProcStats.CpuTime(process.Id) ?? cpuAtStart) - cpuAtStart;
                window.Progress(elapsed, $"{ops / Math.Max(elapsed, 0.001):N0}/s, {errors} errors", 100 * cpu.TotalSeconds / Math.Max(elapsed, 0.001));
            }
        }

        await process.WaitForExitAsync();
        if (!ended)
        {
            window.End();
        }

        if (process.ExitCode != 0 || !File.Exists(resultFile))
        {
            throw new InvalidOperationException($"The load generator failed ({process.ExitCode}): {await stderr}");
        }

        return JsonSerializer.Deserialize<LoadResult>(await File.ReadAllTextAsync(resultFile), LoadGenerator.Json)!;
    }
}
