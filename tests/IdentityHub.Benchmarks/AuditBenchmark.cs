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
            results.Add(await measure(AuditScenarios.Ingest, IngestPlanAsync, CheckIngestAsync));
            notes.Add($"audit-ingest: {options.AuditWriters} concurrent requests (--audit-writers); req/s = events/s (one token.failed event per request, " +
                      "each answer sent after its event's group commit, so the latencies include the write acknowledgement)" +
                      (options.Scenarios.Contains(AuditScenarios.Queries) ? $", into the table holding the {options.AuditEvents:N0} seeded events." : "."));
        }

        return results;
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
        using var http = OidcFlows.CreateClient(server.BaseUrl, 4);
        var auditorCookie = await AuditSeeder.CookieSignInAsync(http, people.AuditorUserName);
        var citizenCookies = new List<string>();
        foreach (var (userName, _) in people.Citizens)
        {
            citizenCookies.Add(await AuditSeeder.CookieSignInAsync(http, userName));
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
