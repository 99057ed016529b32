using System.Diagnostics;
using System.Text.Json;

namespace IdentityHub.Benchmarks;

/// <summary>What one load run is to do; written by the runner, read by the generator process.</summary>
public sealed class LoadPlan
{
    public string BaseUrl { get; set; } = "";

    /// <summary>static (the same request again and again), rotate (<see cref="Requests"/> in turn), refresh or signin.</summary>
    public string Kind { get; set; } = "static";

    public int Concurrency { get; set; }

    public double WarmupSeconds { get; set; }

    public double DurationSeconds { get; set; }

    public string Method { get; set; } = "GET";

    public string Path { get; set; } = "/";

    public Dictionary<string, string> Headers { get; set; } = [];

    public string? Body { get; set; }

    public string? ContentType { get; set; }

    /// <summary>refresh: one refresh token per worker, each redeemed once; the worker goes on with the new one.</summary>
    public List<string> RefreshTokens { get; set; } = [];

    /// <summary>signin: the users, taken in turn.</summary>
    public List<string> Users { get; set; } = [];

    public string Password { get; set; } = "";

    public ClientInfo? Client { get; set; }

    /// <summary>rotate: the requests, taken in turn across the workers.</summary>
    public List<PlannedRequest> Requests { get; set; } = [];

    /// <summary>rotate: the status every answer must have (a refused request can be the operation measured).</summary>
    public int ExpectedStatus { get; set; } = 200;
}

/// <summary>One request of a rotate plan.</summary>
public sealed class PlannedRequest
{
    public string Method { get; set; } = "GET";

    public string Path { get; set; } = "/";

    public Dictionary<string, string> Headers { get; set; } = [];

    public string? Body { get; set; }
}

/// <summary>What a load run measured.</summary>
public sealed class LoadResult
{
    /// <summary>Completed operations in the measured window (a request, or a whole sign-in flow).</summary>
    public long Operations { get; set; }

    public long HttpRequests { get; set; }

    public long Errors { get; set; }

    public List<string> ErrorSamples { get; set; } = [];

    public double Seconds { get; set; }

    public double P50Ms { get; set; }

    public double P95Ms { get; set; }

    public double P99Ms { get; set; }

    public double MaxMs { get; set; }

    /// <summary>CPU the generator itself used in the measured window.</summary>
    public double GeneratorCpuSeconds { get; set; }

    public double OperationsPerSecond => Seconds > 0 ? Operations / Seconds : 0;
}

/// <summary>
/// The built-in load generator: a separate process (this program with the "generate" verb), fixed concurrency, warm-up
/// then a fixed measured window. Each worker is a thread of its own with one kept-alive <see cref="Http1Connection"/>
/// (blocking socket calls, requests written into reused buffers; the static and rotating plans' requests encoded once),
/// so that the generator spends as little of the shared cores per request as it can (docs/benchmarks.md, twelfth
/// session). It tells the runner on standard output when the window starts ("MEASURE"), how far it is
/// ("PROGRESS ops errors") and writes its <see cref="LoadResult"/> as JSON to the given file.
/// </summary>
public static class LoadGenerator
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: generate PLAN.json RESULT.json");
            return 2;
        }

        var plan = JsonSerializer.Deserialize<LoadPlan>(await File.ReadAllTextAsync(args[0]), Json)!;
        var result = Execute(plan, line =>
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        });
        await File.WriteAllTextAsync(args[1], JsonSerializer.Serialize(result, Json));
        return 0;
    }

    private sealed class Worker(string baseUrl)
    {
        public readonly List<double> LatenciesMs = new(4096);
        public readonly Http1Connection Connection = new(baseUrl);
        public long Operations;
        public long Requests;
        public long Errors;
        public string? RefreshToken;
    }

    public static LoadResult Execute(LoadPlan plan, Action<string> report)
    {
        var samples = new List<string>();
        var workers = Enumerable.Range(0, plan.Concurrency).Select(i => new Worker(plan.BaseUrl)
        {
            RefreshToken = i < plan.RefreshTokens.Count ? plan.RefreshTokens[i] : null,
        }).ToArray();
        long userCursor = -1;
        long requestCursor = -1;
        var clock = Stopwatch.StartNew();
        var measureFrom = TimeSpan.FromSeconds(plan.WarmupSeconds);
        var measureUntil = measureFrom + TimeSpan.FromSeconds(plan.DurationSeconds);
        var process = Process.GetCurrentProcess();

        // The stateless plans' requests, encoded once: the same bytes HttpClient sent (its content headers included).
        var staticRequest = plan.Kind == "static"
            ? Http1Connection.Encode(plan.BaseUrl, plan.Method, plan.Path, plan.Headers, plan.Body, plan.ContentType ?? "application/x-www-form-urlencoded")
            : null;
        var rotating = plan.Requests.Select(r => Http1Connection.Encode(plan.BaseUrl, r.Method, r.Path, r.Headers, r.Body,
            "application/x-www-form-urlencoded; charset=utf-8")).ToArray();

        void Operation(Worker worker)
        {
            var http = worker.Connection;
            switch (plan.Kind)
            {
                case "static":
                    worker.Requests++;
                    if (http.SendEncoded(staticRequest) != 200)
                    {
                        throw new FlowException($"{plan.Method} {plan.Path}: {http.Status} {OidcFlows.Truncate(http.BodyText)}");
                    }

                    break;

                case "rotate":
                    var index = (int)(Interlocked.Increment(ref requestCursor) % rotating.Length);
                    worker.Requests++;
                    if (http.SendEncoded(rotating[index]) != plan.ExpectedStatus)
                    {
                        var planned = plan.Requests[index];
                        throw new FlowException($"{planned.Method} {planned.Path}: {http.Status} {OidcFlows.Truncate(http.BodyText)}");
                    }

                    break;

                case "refresh":
                    if (worker.RefreshToken is null)
                    {
                        throw new FlowException("this worker has no refresh token left (an earlier redemption failed)");
                    }

                    worker.Requests++;
                    var current = worker.RefreshToken;
                    worker.RefreshToken = null;
                    var tokens = OidcFlows.Refresh(http, plan.Client!, current);
                    worker.RefreshToken = tokens.RefreshToken ?? throw new FlowException("the refresh response has no new refresh token");
                    break;

                case "signin":
                    var user = plan.Users[(int)(Interlocked.Increment(ref userCursor) % plan.Users.Count)];
                    OidcFlows.SignIn(http, plan.Client!, user, plan.Password, () => worker.Requests++);
                    break;

                default:
                    throw new InvalidOperationException("Unknown load kind " + plan.Kind);
            }
        }

        // Operations count when they complete inside the window [warm-up end, window end]. The window
        // lasts the given duration, and longer if no operation completed yet (a slow machine, or a
        // sign-in flow that takes longer than a quick run's second): every run measures something.
        var ended = 0;
        var measuredOperations = 0L;

        void RunWorker(Worker worker)
        {
            while (Volatile.Read(ref ended) == 0)
            {
                var started = clock.Elapsed;
                var requestsBefore = worker.Requests;
                try
                {
                    Operation(worker);
                    var finished = clock.Elapsed;
                    if (Volatile.Read(ref ended) == 0 && finished >= measureFrom)
                    {
                        worker.LatenciesMs.Add((finished - started).TotalMilliseconds);
                        worker.Operations++;
                        Interlocked.Increment(ref measuredOperations);
                    }
                    else
                    {
                        worker.Requests = requestsBefore;
                    }
                }
                catch (Exception e)
                {
                    if (Volatile.Read(ref ended) == 0)
                    {
                        worker.Errors++;
                        lock (samples)
                        {
                            if (samples.Count < 5)
                            {
                                samples.Add(e.GetType().Name + ": " + e.Message);
                            }
                        }
                    }

                    if (plan.Kind == "refresh" && worker.RefreshToken is null)
                    {
                        return;
                    }

                    Thread.Sleep(10);
                }
            }
        }

        // A thread per worker (LongRunning), blocked in its socket while the server works.
        var tasks = workers.Select(w => Task.Factory.StartNew(() => RunWorker(w), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        var all = Task.WhenAll(tasks);
        var cpuAtStart = TimeSpan.Zero;
        var cpu = TimeSpan.Zero;
        var measuring = false;
        var windowLength = TimeSpan.Zero;
        var lastProgress = TimeSpan.Zero;
        var giveUp = measureUntil + TimeSpan.FromSeconds(120);
        while (Volatile.Read(ref ended) == 0)
        {
            // A plain sleep, not Task.Wait(50), which spins before it blocks: twenty checks a second cost next to nothing.
            Thread.Sleep(50);
            var now = clock.Elapsed;
            if (!measuring && (now >= measureFrom || all.IsCompleted))
            {
                measuring = true;
                process.Refresh();
                cpuAtStart = process.TotalProcessorTime;
                report("MEASURE");
            }

            if (measuring && (all.IsCompleted || now >= giveUp || (now >= measureUntil && Interlocked.Read(ref measuredOperations) > 0)))
            {
                // The window is over: operations in flight finish but do not count, and the CPU figure stops here.
                Volatile.Write(ref ended, 1);
                windowLength = now - measureFrom;
                process.Refresh();
                cpu = process.TotalProcessorTime - cpuAtStart;
                report("END");
            }

            if (measuring && now - lastProgress >= TimeSpan.FromMilliseconds(500))
            {
                lastProgress = now;
                report($"PROGRESS {workers.Sum(w => Volatile.Read(ref w.Operations))} {workers.Sum(w => Volatile.Read(ref w.Errors))}");
            }
        }

        all.Wait();
        foreach (var worker in workers)
        {
            worker.Connection.Dispose();
        }

        var latencies = workers.SelectMany(w => w.LatenciesMs).ToArray();
        Array.Sort(latencies);
        return new LoadResult
        {
            Operations = workers.Sum(w => w.Operations),
            HttpRequests = workers.Sum(w => w.Requests),
            Errors = workers.Sum(w => w.Errors),
            ErrorSamples = samples,
            Seconds = Math.Max(windowLength.TotalSeconds, 0.001),
            P50Ms = Percentile(latencies, 0.50),
            P95Ms = Percentile(latencies, 0.95),
            P99Ms = Percentile(latencies, 0.99),
            MaxMs = latencies.Length == 0 ? 0 : latencies[^1],
            GeneratorCpuSeconds = cpu.TotalSeconds,
        };
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
