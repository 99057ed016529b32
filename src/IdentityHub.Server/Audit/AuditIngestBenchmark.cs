using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace IdentityHub.Server.Audit;

/// <summary>
/// <c>dotnet IdentityHub.Server.dll audit-ingest-benchmark [--writers 128] [--seconds 10] [--warmup 2] [--events N] [--node ID]</c>:
/// measures the audit writer itself in this process against the configured database, without HTTP. <c>--writers</c>
/// concurrent writers each call <see cref="IAuditLog.WriteAsync"/> in a loop, one event per call, as a request does
/// (token.issued with session and token ids, signin.succeeded, signin.failed; each with the client, its department,
/// an IP address, a user agent and a correlation id, through the same <see cref="AuditRequestInfo"/> a request uses),
/// and wait for the acknowledgement: the real <see cref="AuditWriter"/> loop (group commit, chain sealing, COPY,
/// commit). The rows are real chained rows and stay: they are on their own chain, node <c>--node</c> (default
/// <c>ingest-benchmark</c>), so that they are recognisable and <c>verify-audit</c> verifies them with the rest.
/// The window starts after --warmup and the first group commit. Prints one JSON object: events acknowledged per second in the measured window, p50/p95/p99/max acknowledgement latency in ms,
/// batches committed and the mean batch size. It writes the line <c>measuring</c> when the window starts and
/// <c>measured</c> when it ends (the benchmark tool reads the process's CPU time at those lines).
/// Stops after <c>--seconds</c> of measurement or <c>--events</c> measured events, whichever comes first.
/// </summary>
public static class AuditIngestBenchmark
{
    public const string Command = "audit-ingest-benchmark";

    public const string DefaultNode = "ingest-benchmark";

    private static readonly string[] UserAgents =
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.60",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0",
        "Mozilla/5.0 (Linux; Android 15; V2318A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.7103.125 Mobile Safari/537.36",
        "okhttp/4.12.0",
    ];

    private static readonly string[] Scopes = ["openid", "profile", "phone"];

    /// <summary>The node the command's events are chained on (before the services are built).</summary>
    public static void Configure(IConfiguration configuration)
    {
        configuration[$"{AuditOptions.Section}:{nameof(AuditOptions.NodeId)}"] =
            configuration["node"] is { Length: > 0 } node ? node : DefaultNode;
    }

    public static async Task<int> RunAsync(IServiceProvider services, IConfiguration configuration)
    {
        var writers = Positive(configuration, "writers", 128);
        var seconds = configuration.GetValue("seconds", 10.0) is > 0 and var s ? s : throw new InvalidOperationException("--seconds must be positive.");
        var warmup = Math.Max(0, configuration.GetValue("warmup", 2.0));
        var maxEvents = configuration.GetValue<long?>("events") ?? long.MaxValue;

        // The hosted writer, as in the server: without its loop every call would commit alone.
        var writer = services.GetRequiredService<AuditWriter>();
        await writer.StartAsync(CancellationToken.None);

        var measuring = 0;
        var stop = 0;
        long measured = 0;
        long errors = 0;
        string? firstError = null;
        var latencies = new List<long>[writers];
        var window = new Stopwatch();
        long batches0 = 0, events0 = 0;

        async Task WriterAsync(int index)
        {
            var accessor = services.GetRequiredService<IHttpContextAccessor>();
            var mine = latencies[index] = new List<long>(1 << 16);
            var random = new Random(index * 7919 + 17);
            var http = new DefaultHttpContext();
            accessor.HttpContext = http;
            var sequence = 0L;
            while (Volatile.Read(ref stop) == 0)
            {
                // As a request: a scope of its own, the caller's address, agent and correlation id.
                http.Connection.RemoteIpAddress = new IPAddress([10, (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(1, 255)]);
                http.Request.Headers.UserAgent = UserAgents[random.Next(UserAgents.Length)];
                http.Request.Headers[AuditRequestInfo.CorrelationHeader] = $"bench-{index}-{++sequence}";
                var (actor, record) = NextEvent(random);
                await using var scope = services.CreateAsyncScope();
                var audit = scope.ServiceProvider.GetRequiredService<IAuditLog>();
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await audit.WriteAsync(actor, record);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
                    continue;
                }

                // Every acknowledgement inside the window counts, with its whole latency.
                if (Volatile.Read(ref measuring) == 1)
                {
                    mine.Add(Stopwatch.GetTimestamp() - started);
                    if (Interlocked.Increment(ref measured) >= maxEvents)
                    {
                        Volatile.Write(ref stop, 1);
                    }
                }
            }
        }

        var tasks = Enumerable.Range(0, writers).Select(i => Task.Run(() => WriterAsync(i))).ToList();
        var all = Task.WhenAll(tasks);

        // Until a group commit beyond the first `after` is done and, inside the window, a writer has also recorded an
        // acknowledgement (a commit's acknowledgements reach their writers on the thread pool, after the commit itself:
        // on a loaded machine the window could end between the two, with a batch committed and no event counted); at
        // most 30 s beyond `planned` (a hang guard: a writer that commits nothing then reports 0 batches), and no longer
        // once a write has failed (reported as errors).
        async Task UntilCommittedAsync(long after, Stopwatch since, double planned, bool acknowledged)
        {
            var limit = TimeSpan.FromSeconds(planned + 30);
            while ((writer.BatchesCommitted == after || (acknowledged && Volatile.Read(ref measured) == 0))
                   && !all.IsCompleted && Volatile.Read(ref errors) == 0 && since.Elapsed < limit)
            {
                await Task.Delay(10);
            }
        }

        var warming = Stopwatch.StartNew();
        await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(warmup)));
        // At least until the first group commit is done: a cold start (first connection, JIT, the chain head, the
        // checkpoint's signing key) is not part of the measurement.
        await UntilCommittedAsync(0, warming, warmup, acknowledged: false);

        batches0 = writer.BatchesCommitted;
        events0 = writer.EventsCommitted;
        Console.WriteLine("measuring");
        window.Start();
        Volatile.Write(ref measuring, 1);
        await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(seconds)));
        // And at least until a group commit is done inside the window: on a loaded machine one commit can outlast a
        // short window (the smoke test's is 1 s), whose acknowledgements were then all of a batch committed before it.
        await UntilCommittedAsync(batches0, window, seconds, acknowledged: true);

        Volatile.Write(ref measuring, 0);
        window.Stop();
        var batches = writer.BatchesCommitted - batches0;
        var committed = writer.EventsCommitted - events0;
        Console.WriteLine("measured");
        Volatile.Write(ref stop, 1);
        await all;
        await writer.DrainAsync();

        var ticks = latencies.Where(l => l is not null).SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => ticks.Length == 0 ? 0 : ticks[Math.Min(ticks.Length - 1, (int)Math.Ceiling(p * ticks.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
        var report = new
        {
            node = services.GetRequiredService<AuditChain>().NodeId,
            writers,
            seconds = Math.Round(window.Elapsed.TotalSeconds, 3),
            events = ticks.LongLength,
            eventsPerSecond = Math.Round(ticks.Length / Math.Max(window.Elapsed.TotalSeconds, 0.001), 1),
            p50Ms = Math.Round(Percentile(0.50), 3),
            p95Ms = Math.Round(Percentile(0.95), 3),
            p99Ms = Math.Round(Percentile(0.99), 3),
            maxMs = Math.Round(Percentile(1.0), 3),
            batches,
            meanBatchSize = batches == 0 ? 0 : Math.Round((double)committed / batches, 1),
            errors,
            firstError,
        };
        Console.WriteLine(JsonSerializer.Serialize(report, AuditLog.Json));
        return errors == 0 && ticks.Length > 0 ? 0 : 2;
    }

    /// <summary>A city's mix of the events that go through the group commit: tokens issued, sign-ins, failed sign-ins.</summary>
    private static (AuditActor Actor, AuditRecord Record) NextEvent(Random random)
    {
        var client = random.Next(200);
        var clientId = $"dept-app-{client:000}";
        var department = $"d{client % 50 + 1:00}";
        var user = Guid.NewGuid().ToString();
        var session = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var roll = random.Next(100);
        if (roll < 60)
        {
            var ids = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["access_token"] = Guid.NewGuid().ToString(),
                ["id_token"] = Guid.NewGuid().ToString(),
                ["refresh_token"] = Guid.NewGuid().ToString(),
            };
            return (AuditActor.Client(clientId), new TokensIssued(false, clientId, department, user, session, "authorization_code",
                ["access_token", "id_token", "refresh_token"], Scopes, ids));
        }

        if (roll < 85)
        {
            return (AuditActor.User(user, null), new SignInSucceeded(user, clientId, department, session, ["pwd"]));
        }

        return (AuditActor.User(user, null), new SignInFailed(user, "invalid_password", clientId, department));
    }

    private static int Positive(IConfiguration configuration, string key, int fallback)
    {
        var value = configuration.GetValue(key, fallback);
        return value > 0 ? value : throw new InvalidOperationException($"--{key} must be positive.");
    }
}
