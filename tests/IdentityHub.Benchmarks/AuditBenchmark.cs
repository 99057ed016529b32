using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace IdentityHub.Benchmarks;

/// <summary>
/// Runs the audit scenarios on a started server over PostgreSQL. <paramref name="measure"/> is the runner's
/// measured window (warm-up, fixed window, CPU of server, PostgreSQL and generator) around a plan and its check.
/// </summary>
public sealed class AuditBenchmark(
    BenchmarkOptions options,
    ServerProcess server,
    PostgresInstance postgres,
    Seed seed,
    string adminClientId,
    string adminSecret,
    string serverDll,
    IReadOnlyDictionary<string, string> serverEnvironment,
    TextWriter log,
    ProgressLine progress,
    Func<string, Func<Task<LoadPlan>>, Func<LoadPlan, ScenarioResult, Task>, Task<ScenarioResult>> measure)
{
    private const string IngestGrantType = "urn:identityhub:benchmark:audit-ingest";

    public async Task<List<ScenarioResult>> RunAsync(List<string> notes)
    {
        var results = new List<ScenarioResult>();
        if (options.Scenarios.Contains(AuditScenarios.Queries))
        {
            results.AddRange(await QueriesAsync(notes));
        }

        // After the seed when both run: the writer then appends to a table of --audit-events rows and its indexes.
        if (options.Scenarios.Contains(AuditScenarios.Ingest))
        {
            var into = options.Scenarios.Contains(AuditScenarios.Queries) ? $", into the table holding the {options.AuditEvents:N0} seeded events" : "";
            results.Add(await WriterIngestAsync(notes, into));
            results.Add(await measure(AuditScenarios.IngestHttp, IngestPlanAsync, CheckIngestAsync));
            notes.Add($"audit-ingest-http: {options.AuditWriters} concurrent requests (--audit-writers); req/s = events/s (one token.failed event per request, " +
                      $"each answer sent after its event's group commit, so the latencies include the write acknowledgement){into}.");
            if (!options.Scenarios.Contains(AuditScenarios.Queries) || options.AuditEvents <= 1_000_000)
            {
                var (code, output) = await RunServerCommandAsync(["verify-audit"], null);
                if (code != 0)
                {
                    throw new InvalidOperationException($"verify-audit after the ingest exited with {code}: {OidcFlows.Truncate(output)}");
                }

                notes.Add("audit-ingest: verify-audit after the ingest scenarios: " +
                          output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("Audit chain verified", StringComparison.Ordinal)));
            }
        }

        return results;
    }

    /// <summary>
    /// The writer itself: the server's <c>audit-ingest-benchmark</c> command, a process of its own (the Release server
    /// build) on the same database, --audit-writers concurrent writers calling IAuditLog.WriteAsync. Its CPU and
    /// PostgreSQL's are read when it writes "measuring" and "measured" around its window.
    /// </summary>
    private async Task<ScenarioResult> WriterIngestAsync(List<string> notes, string into)
    {
        var result = new ScenarioResult { Database = "postgres", Name = AuditScenarios.Ingest, Generator = "in-process" };
        try
        {
            TimeSpan cpu0 = default, cpu1 = default, db0 = default, db1 = default, machine0 = default, machine1 = default;
            var clock = new Stopwatch();
            long peak = 0;
            var (code, output) = await RunServerCommandAsync(
                [AuditIngestCommand, "--writers", options.AuditWriters.ToString(CultureInfo.InvariantCulture),
                 "--seconds", options.DurationSeconds.ToString(CultureInfo.InvariantCulture), "--warmup", options.WarmupSeconds.ToString(CultureInfo.InvariantCulture)],
                (process, line) =>
                {
                    if (line == "measuring")
                    {
                        cpu0 = ProcStats.CpuTime(process.Id) ?? TimeSpan.Zero;
                        db0 = postgres.PostmasterPid is { } pg ? ProcStats.TreeCpuTime(pg) : TimeSpan.Zero;
                        machine0 = ProcStats.MachineBusyTime();
                        clock.Restart();
                        progress.Update($"[postgres] {AuditScenarios.Ingest}: measuring {options.DurationSeconds:0.#} s");
                    }
                    else if (line == "measured")
                    {
                        clock.Stop();
                        cpu1 = ProcStats.CpuTime(process.Id) ?? cpu0;
                        db1 = postgres.PostmasterPid is { } pg ? ProcStats.TreeCpuTime(pg) : TimeSpan.Zero;
                        machine1 = ProcStats.MachineBusyTime();
                        peak = ProcStats.PeakRss(process.Id) ?? 0;
                    }
                });
            progress.Done();
            var json = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'))
                ?? throw new InvalidOperationException($"{AuditIngestCommand} exited with {code} without a report: {OidcFlows.Truncate(output)}");
            using var report = JsonDocument.Parse(json);
            var r = report.RootElement;
            var wall = Math.Max(clock.Elapsed.TotalSeconds, 0.001);
            result.Operations = r.GetProperty("events").GetInt64();
            result.Errors = r.GetProperty("errors").GetInt64();
            if (r.GetProperty("firstError").GetString() is { } first)
            {
                result.ErrorSamples.Add(first);
            }

            result.Seconds = r.GetProperty("seconds").GetDouble();
            result.PerSecond = r.GetProperty("eventsPerSecond").GetDouble();
            result.P50Ms = r.GetProperty("p50Ms").GetDouble();
            result.P95Ms = r.GetProperty("p95Ms").GetDouble();
            result.P99Ms = r.GetProperty("p99Ms").GetDouble();
            result.MaxMs = r.GetProperty("maxMs").GetDouble();
            result.ServerCpuPercent = 100 * (cpu1 - cpu0).TotalSeconds / wall;
            result.DatabaseCpuPercent = postgres.PostmasterPid is null ? null : 100 * (db1 - db0).TotalSeconds / wall;
            result.OtherCpuPercent = Math.Max(0, 100 * (machine1 - machine0).TotalSeconds / wall - result.ServerCpuPercent - (result.DatabaseCpuPercent ?? 0));
            result.PeakRssBytes = peak;
            if (code != 0)
            {
                throw new InvalidOperationException($"{AuditIngestCommand} exited with {code}: {OidcFlows.Truncate(output)}");
            }

            var node = r.GetProperty("node").GetString()!;
            await using var connection = new NpgsqlConnection(postgres.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM \"AuditEvents\" WHERE \"NodeId\" = @n AND \"EventType\" <> 'audit.checkpoint'", connection);
            command.Parameters.AddWithValue("@n", node);
            var rows = (long)(await command.ExecuteScalarAsync())!;
            if (rows < result.Operations)
            {
                throw new InvalidOperationException($"{result.Operations} events were acknowledged but only {rows} rows of node {node} are stored.");
            }

            notes.Add($"audit-ingest: the server's `{AuditIngestCommand}` command (the Release build, its own process, no HTTP): {options.AuditWriters} concurrent " +
                      $"writers (--audit-writers) each calling IAuditLog.WriteAsync with one event (token.issued, signin.succeeded, signin.failed with client, " +
                      $"department, IP, user agent, session, correlation id) and waiting for its group commit; latencies are the acknowledgements{into}. " +
                      $"{r.GetProperty("batches").GetInt64():N0} batches committed in the window, mean batch {r.GetProperty("meanBatchSize").GetDouble():N1} events; " +
                      $"the rows are chained on node {node}. Server CPU = the command's process.");
            if (AuditScenarios.Target(AuditScenarios.Ingest) is { } target)
            {
                result.Target = target.Text;
                result.TargetMet = target.Met(result, null!);
            }
        }
        catch (Exception e)
        {
            progress.Done();
            result.Failure = e.GetType().Name + ": " + e.Message;
            result.Errors = Math.Max(result.Errors, 1);
        }

        log.WriteLine($"  {result.Name,-26} {result.PerSecond,10:N0}/s  p50 {result.P50Ms:0.0} ms  p99 {result.P99Ms:0.0} ms  errors {result.Errors}  " +
                      $"server CPU {result.ServerCpuPercent:0}% ({result.ServerCpuMsPerOperation:0.000} ms/op)  PostgreSQL CPU {result.DatabaseCpuPercent ?? 0:0}%  " +
                      $"other processes {result.OtherCpuPercent:0}%" + (result.Failure is null ? "" : "  FAILED: " + result.Failure));
        return result;
    }

    private const string AuditIngestCommand = "audit-ingest-benchmark";

    /// <summary>Runs the server build with a command (verify-audit, audit-ingest-benchmark) on the benchmark's database.</summary>
    private async Task<(int Code, string Output)> RunServerCommandAsync(string[] args, Action<Process, string>? onLine)
    {
        var start = ServerProcess.StartInfo(serverDll, serverEnvironment, args);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var output = new System.Text.StringBuilder();
        var stderr = process.StandardError.ReadToEndAsync();
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            onLine?.Invoke(process, line.Trim());
            output.AppendLine(line);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        output.Append(await stderr);
        return (process.ExitCode, output.ToString());
    }

    private async Task<LoadPlan> IngestPlanAsync()
    {
        // The refusal (unsupported_grant_type, RFC 6749 section 5.2) comes before client authentication, so no
        // secret is hashed: the request's main work is its audit event.
        using var http = OidcFlows.CreateClient(server.BaseUrl, 2);
        using var answer = await http.PostAsync("/connect/token", new FormUrlEncodedContent(
            [KeyValuePair.Create("grant_type", IngestGrantType), KeyValuePair.Create("client_id", seed.ServiceClient.ClientId)]));
        var body = await answer.Content.ReadAsStringAsync();
        if ((int)answer.StatusCode != 400 || !body.Contains("unsupported_grant_type", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The ingest request is not refused with unsupported_grant_type: {(int)answer.StatusCode} {body}");
        }

        return new LoadPlan
        {
            BaseUrl = server.BaseUrl,
            Kind = "rotate",
            Concurrency = options.AuditWriters,
            WarmupSeconds = options.WarmupSeconds,
            DurationSeconds = options.DurationSeconds,
            ExpectedStatus = 400,
            Requests =
            [
                new PlannedRequest
                {
                    Method = "POST", Path = "/connect/token",
                    Body = OidcFlows.Query(("grant_type", IngestGrantType), ("client_id", seed.ServiceClient.ClientId)),
                },
            ],
        };
    }

    /// <summary>Every acknowledged request has its event: at least as many rows as the generator counted answers.</summary>
    private async Task CheckIngestAsync(LoadPlan plan, ScenarioResult result)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM \"AuditEvents\" WHERE \"EventType\" = 'token.failed' AND \"ClientId\" = @c AND \"Reason\" = 'unsupported_grant_type'",
            connection);
        command.Parameters.AddWithValue("@c", seed.ServiceClient.ClientId);
        var rows = (long)(await command.ExecuteScalarAsync())!;
        if (rows < result.Operations)
        {
            throw new InvalidOperationException($"{result.Operations} requests were answered but only {rows} token.failed events are stored.");
        }
    }

    private async Task<List<ScenarioResult>> QueriesAsync(List<string> notes)
    {
        var citizens = options.Quick ? 4 : 20;
        var people = await AuditSeeder.CreatePeopleAsync(server.BaseUrl, adminClientId, adminSecret, citizens, log);
        var bulk = await AuditSeeder.BulkAsync(postgres.ConnectionString, people, options.AuditEvents, log, progress);
        notes.Add($"audit-queries: {bulk.Events:N0} events seeded by binary COPY as one hash chain (node {AuditSeeder.SeedNode}, sequence 1..N, " +
                  $"the server's canonical hash) from {bulk.FromUtc:yyyy-MM-dd} to {bulk.ToUtc:yyyy-MM-dd}: ~{AuditSeeder.People:N0} people (20% of the events " +
                  $"from the {AuditSeeder.HeavyPeople:N0} heaviest, among them the {citizens} measured citizens, ~{bulk.Events / 5 / AuditSeeder.HeavyPeople + bulk.Events * 4 / 5 / AuditSeeder.People:N0} events each), " +
                  $"{AuditSeeder.DepartmentCount} departments, {AuditSeeder.Clients} clients (skewed), event types in a city's proportions; " +
                  $"COPY {bulk.CopySeconds:0} s, index builds {bulk.IndexSeconds:0} s, VACUUM ANALYZE {bulk.VacuumSeconds:0} s; " +
                  $"table {bulk.TableBytes / 1048576.0:N0} MB, indexes {bulk.IndexBytes / 1048576.0:N0} MB. Reads at {AuditScenarios.QueryConcurrency} concurrent clients.");

        // Signed in after the seed: a long seed must not outlast the sessions' idle timeout.
        var auditorCookie = AuditSeeder.CookieSignIn(server.BaseUrl, people.AuditorUserName);
        var citizenCookies = new List<string>();
        foreach (var (userName, _) in people.Citizens)
        {
            citizenCookies.Add(AuditSeeder.CookieSignIn(server.BaseUrl, userName));
        }

        var auditor = new Dictionary<string, string> { ["Cookie"] = auditorCookie, ["X-IdentityHub-Csrf"] = "1" };
        var windows = Enumerable.Range(0, 12).Select(m => bulk.ToUtc.AddDays(-30 * m)).ToList();
        var results = new List<ScenarioResult>
        {
            await measure(AuditScenarios.History, () => Task.FromResult(QueryPlan(citizenCookies.Select(c => new PlannedRequest
            {
                Path = "/Account/History", Headers = new() { ["Cookie"] = c },
            }))), CheckHistoryAsync),
            await measure(AuditScenarios.Search, () => Task.FromResult(QueryPlan(
                from d in people.Departments
                from to in windows.Take(6)
                select new PlannedRequest
                {
                    Path = "/api/audit/events?" + OidcFlows.Query(("department", d), ("type", "signin.failed"),
                        ("from", Iso(to.AddDays(-30))), ("to", Iso(to)), ("limit", "50")),
                    Headers = auditor,
                })), CheckSearchAsync),
            await measure(AuditScenarios.Statistics, () => Task.FromResult(QueryPlan(windows.Select(to => new PlannedRequest
            {
                Path = "/api/audit/statistics/sign-ins?" + OidcFlows.Query(("from", Day(to.AddDays(-29))), ("to", Day(to))),
                Headers = auditor,
            }))), CheckStatisticsAsync),
        };

        if (bulk.Events <= 1_000_000)
        {
            await VerifyChainAsync(auditor);
            notes.Add("audit-queries: GET /api/audit/verify over the seeded chain and the server's own: valid.");
        }
        else
        {
            notes.Add("audit-queries: chain verification skipped above 1,000,000 seeded events (run `verify-audit` on the database for it).");
        }

        return results;
    }

    private LoadPlan QueryPlan(IEnumerable<PlannedRequest> requests) => new()
    {
        BaseUrl = server.BaseUrl,
        Kind = "rotate",
        Concurrency = AuditScenarios.QueryConcurrency,
        WarmupSeconds = options.WarmupSeconds,
        DurationSeconds = options.DurationSeconds,
        Requests = [.. requests],
    };

    private static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    // Statistics days are in Audit:StatisticsUtcOffset (+08:00 by default); a day either side changes nothing measured.
    private static string Day(DateTime utc) => utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private async Task<string> GetAsync(PlannedRequest request)
    {
        using var http = OidcFlows.CreateClient(server.BaseUrl, 1);
        using var message = new HttpRequestMessage(HttpMethod.Get, request.Path);
        foreach (var (name, value) in request.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(message);
        var body = await response.Content.ReadAsStringAsync();
        return (int)response.StatusCode == 200 ? body : throw new InvalidOperationException($"GET {request.Path}: {(int)response.StatusCode} {OidcFlows.Truncate(body)}");
    }

    /// <summary>The page lists seeded sign-ins of the citizen (not only the benchmark's own sign-in).</summary>
    private async Task CheckHistoryAsync(LoadPlan plan, ScenarioResult result)
    {
        var html = await GetAsync(plan.Requests[0]);
        var rows = html.Split("data-event=", StringSplitOptions.None).Length - 1;
        if (rows < 2 && options.AuditEvents >= 100_000)
        {
            throw new InvalidOperationException($"The citizen's history page shows {rows} sign-ins; the seed gave them many.");
        }
    }

    /// <summary>A full first page of the right department, type and window, newest first, with a cursor.</summary>
    private async Task CheckSearchAsync(LoadPlan plan, ScenarioResult result)
    {
        var request = plan.Requests[0];
        using var page = JsonDocument.Parse(await GetAsync(request));
        var items = page.RootElement.GetProperty("items").EnumerateArray().ToList();
        var department = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(server.BaseUrl + request.Path).Query)["department"].ToString();
        if (options.AuditEvents >= 1_000_000 && (items.Count != 50 || page.RootElement.GetProperty("nextCursor").ValueKind != JsonValueKind.String))
        {
            throw new InvalidOperationException($"The first page has {items.Count} items (50 and a cursor expected).");
        }

        if (items.Any(i => i.GetProperty("departmentCode").GetString() != department || i.GetProperty("eventType").GetString() != "signin.failed"))
        {
            throw new InvalidOperationException("The page holds events of another department or type.");
        }

        var times = items.Select(i => i.GetProperty("occurredAtUtc").GetDateTime()).ToList();
        if (!times.SequenceEqual(times.OrderDescending()))
        {
            throw new InvalidOperationException("The page is not newest first.");
        }
    }

    /// <summary>Per department and day, summing to the sign-ins of the window.</summary>
    private async Task CheckStatisticsAsync(LoadPlan plan, ScenarioResult result)
    {
        using var statistics = JsonDocument.Parse(await GetAsync(plan.Requests[0]));
        var days = statistics.RootElement.GetProperty("days").EnumerateArray().ToList();
        var departments = days.Select(d => d.GetProperty("department").GetString()).Distinct().Count();
        if (options.AuditEvents >= 1_000_000 && (departments < AuditSeeder.DepartmentCount || days.Count < 29 * AuditSeeder.DepartmentCount))
        {
            throw new InvalidOperationException($"The statistics hold {days.Count} department-days of {departments} departments.");
        }

        if (days.Sum(d => d.GetProperty("succeeded").GetInt32()) + days.Sum(d => d.GetProperty("failed").GetInt32()) == 0 && options.AuditEvents >= 100_000)
        {
            throw new InvalidOperationException("The statistics count no sign-in.");
        }
    }

    private async Task VerifyChainAsync(Dictionary<string, string> auditor)
    {
        using var report = JsonDocument.Parse(await GetAsync(new PlannedRequest { Path = "/api/audit/verify", Headers = auditor }));
        if (!report.RootElement.GetProperty("valid").GetBoolean())
        {
            throw new InvalidOperationException("Verification finds the seeded chain invalid: " + OidcFlows.Truncate(report.RootElement.ToString()));
        }
    }
}
