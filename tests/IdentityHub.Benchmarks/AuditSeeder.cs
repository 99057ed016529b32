using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Server.Audit;
using Npgsql;
using NpgsqlTypes;

namespace IdentityHub.Benchmarks;

/// <summary>The people the audit scenarios act as, and what the bulk seed wrote.</summary>
public sealed record AuditPeople(string AuditorUserName, IReadOnlyList<(string UserName, string Id)> Citizens, IReadOnlyList<string> Departments);

public sealed record AuditBulk(long Events, DateTime FromUtc, DateTime ToUtc, double CopySeconds, double IndexSeconds, double VacuumSeconds,
    long TableBytes, long IndexBytes, string LastHash);

/// <summary>
/// Seeds the audit trail: the auditor and the citizens through the admin API (they sign in for real), then
/// <c>--audit-events</c> rows straight into AuditEvents by binary COPY, in one year, over ~1 million people, 50
/// departments, 200 clients and the identity event types in the proportions of a city's traffic. The rows are a
/// valid hash chain of their own node ("bench-seed": sequence 1..N, each hash over the server's canonical form,
/// <see cref="AuditHash"/>, compiled in from the server) with its chain head, so that verification passes over
/// them. For large seeds the secondary indexes are dropped before the COPY and built again after it (what a bulk
/// load does), then VACUUM ANALYZE sets the visibility map that index-only scans need.
/// </summary>
public static partial class AuditSeeder
{
    public const string SeedNode = "bench-seed";
    public const int People = 1_000_000;
    public const int HeavyPeople = 10_000;
    public const int Clients = 200;
    public const int DepartmentCount = 50;

    private static readonly (string Type, int Weight)[] Types =
    [
        ("signin.succeeded", 18), ("signin.failed", 4), ("token.issued", 22), ("token.refreshed", 22), ("claims.released", 20),
        ("signout.completed", 6), ("token.failed", 4), ("token.revoked", 2), ("session.ended", 2),
    ];

    private static readonly string[] UserAgents =
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.50",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    ];

    private static readonly string[] ClaimSets =
    [
        """{"via":"id_token","claims":["name","phone_number"],"masked":[]}""",
        """{"via":"id_token","claims":["name","phone_number","verified_claims:id_number","verified_claims:name"],"masked":["verified_claims:id_number"]}""",
        """{"via":"userinfo","claims":["email","name"],"masked":[]}""",
    ];

    public static async Task<AuditPeople> CreatePeopleAsync(string baseUrl, string adminClientId, string adminSecret, int citizens, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        using var http = OidcFlows.CreateClient(baseUrl, 8);
        var token = Seeder.AdminToken(baseUrl, adminClientId, adminSecret);

        async Task<JsonElement> SendAsync(HttpMethod method, string path, object body, HttpStatusCode expected)
        {
            using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != expected)
            {
                throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
            }

            return JsonDocument.Parse(text).RootElement.Clone();
        }

        var departments = Enumerable.Range(1, DepartmentCount).Select(i => $"d{i:D2}").ToList();
        foreach (var code in departments)
        {
            await SendAsync(HttpMethod.Post, "/api/admin/departments", new { code, name = "委办局 " + code, nameEn = "Department " + code }, HttpStatusCode.Created);
        }

        var auditor = "bench-auditor";
        var auditorId = (await SendAsync(HttpMethod.Post, "/api/admin/users", new { userName = auditor, password = Seeder.Password }, HttpStatusCode.Created))
            .GetProperty("id").GetString()!;
        await SendAsync(HttpMethod.Put, $"/api/admin/users/{auditorId}/roles", new { roles = new[] { "auditor" } }, HttpStatusCode.OK);
        var people = new (string, string)[citizens];
        await Parallel.ForEachAsync(Enumerable.Range(0, citizens), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var name = $"bench-citizen-{i:D3}";
            var id = (await SendAsync(HttpMethod.Post, "/api/admin/users", new { userName = name, password = Seeder.Password, displayName = "公民 " + i },
                HttpStatusCode.Created)).GetProperty("id").GetString()!;
            people[i] = (name, id);
        });

        log.WriteLine($"  audit: {DepartmentCount} departments, an auditor and {citizens} citizens through the admin API in {clock.Elapsed.TotalSeconds:0.0} s");
        return new AuditPeople(auditor, people, departments);
    }

    /// <summary>Signs in on /Account/Login as a browser does; returns the Cookie header value of the signed-in browser.</summary>
    public static string CookieSignIn(string baseUrl, string userName)
    {
        using var http = new Http1Connection(baseUrl);
        var jar = new CookieJar();
        var token = http.Start("GET", "/Account/Login", jar).Send() == 200 ? OidcFlows.AntiforgeryToken(http.Body) : null;
        if (token is null)
        {
            throw new InvalidOperationException($"no antiforgery token on the sign-in page ({http.Status})");
        }

        var status = http.Start("POST", "/Account/Login", jar)
            .Form("Input.SignInName", userName)
            .Form("Input.Password", Seeder.Password)
            .Form("__RequestVerificationToken", token)
            .Form("ReturnUrl", "/")
            .Send();
        return status == 302 ? jar.ToString() : throw new InvalidOperationException($"sign-in of {userName}: {status}");
    }

    /// <summary>Writes <paramref name="count"/> chained events ending 10 minutes before now, by binary COPY.</summary>
    public static async Task<AuditBulk> BulkAsync(string connectionString, AuditPeople people, long count, TextWriter log, ProgressLine progress)
    {
        var to = DateTime.UtcNow.AddMinutes(-10);
        var from = to.AddDays(-365);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, "SET maintenance_work_mem = '512MB'");

        // A bulk load: without the secondary indexes, then each built once (sorted) rather than grown row by row.
        var rebuild = count >= 200_000;
        var indexes = new List<(string Name, string Definition)>();
        if (rebuild)
        {
            await using var command = new NpgsqlCommand(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'AuditEvents' AND indexname <> 'PK_AuditEvents'", connection);
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    indexes.Add((reader.GetString(0), reader.GetString(1)));
                }
            }

            foreach (var (name, _) in indexes)
            {
                await ExecuteAsync(connection, $"DROP INDEX \"{name}\"");
            }
        }

        var clock = Stopwatch.StartNew();
        var random = new Random(20261129);
        var cumulative = Types.Select((t, i) => Types.Take(i + 1).Sum(x => x.Weight)).ToArray();
        var total = cumulative[^1];
        var span = (to - from).Ticks;
        var previous = AuditHash.Genesis;
        var e = new AuditEvent { EventType = "", ActorKind = "", ActorId = "", TargetType = "", TargetId = "" };
        await using (var import = await connection.BeginBinaryImportAsync(
                         "COPY \"AuditEvents\" (\"OccurredAtUtc\", \"Category\", \"EventType\", \"Outcome\", \"Reason\", \"ActorKind\", \"ActorId\", " +
                         "\"ActorName\", \"SubjectId\", \"EnterpriseId\", \"ClientId\", \"TargetType\", \"TargetId\", \"DepartmentCode\", \"IpAddress\", " +
                         "\"UserAgent\", \"SessionId\", \"CorrelationId\", \"Before\", \"After\", \"Data\", \"NodeId\", \"Sequence\", \"PreviousHash\", \"Hash\") " +
                         "FROM STDIN (FORMAT BINARY)"))
        {
            for (long i = 0; i < count; i++)
            {
                Fill(e, random, i, count, from, span, people, cumulative, total);
                e.Sequence = i + 1;
                e.PreviousHash = previous;
                e.Hash = AuditHash.Compute(e);
                previous = e.Hash;
                Write(import, e);
                if ((i & 0xFFFF) == 0)
                {
                    progress.Update($"  audit seed: {i:N0} / {count:N0} events by COPY, {i / Math.Max(clock.Elapsed.TotalSeconds, 0.001):N0}/s");
                }
            }

            await import.CompleteAsync();
        }

        progress.Done();
        var copySeconds = clock.Elapsed.TotalSeconds;
        await ExecuteAsync(connection,
            "INSERT INTO \"AuditChainHeads\" (\"NodeId\", \"LastSequence\", \"LastHash\", \"UpdatedAtUtc\") VALUES (@n, @s, @h, now()) " +
            "ON CONFLICT (\"NodeId\") DO UPDATE SET \"LastSequence\" = @s, \"LastHash\" = @h",
            ("@n", SeedNode), ("@s", count), ("@h", previous));
        log.WriteLine($"  audit seed: {count:N0} events (node {SeedNode}) by binary COPY in {copySeconds:0.0} s ({count / Math.Max(copySeconds, 0.001):N0}/s)");

        clock.Restart();
        foreach (var (name, definition) in indexes)
        {
            progress.Update($"  audit seed: building {name}");
            await ExecuteAsync(connection, definition, timeout: 0);
        }

        progress.Done();
        var indexSeconds = clock.Elapsed.TotalSeconds;
        if (rebuild)
        {
            log.WriteLine($"  audit seed: {indexes.Count} secondary indexes built in {indexSeconds:0.0} s");
        }

        clock.Restart();
        await ExecuteAsync(connection, "VACUUM (ANALYZE) \"AuditEvents\"", timeout: 0);
        var vacuumSeconds = clock.Elapsed.TotalSeconds;
        await using var sizes = new NpgsqlCommand(
            "SELECT pg_table_size('\"AuditEvents\"'), pg_indexes_size('\"AuditEvents\"')", connection);
        await using var sizesReader = await sizes.ExecuteReaderAsync();
        await sizesReader.ReadAsync();
        var bulk = new AuditBulk(count, from, to, copySeconds, indexSeconds, vacuumSeconds, sizesReader.GetInt64(0), sizesReader.GetInt64(1), previous);
        log.WriteLine($"  audit seed: VACUUM ANALYZE in {vacuumSeconds:0.0} s; table {bulk.TableBytes / 1048576.0:N0} MB, indexes {bulk.IndexBytes / 1048576.0:N0} MB");
        return bulk;
    }

    /// <summary>One event of the synthetic year: index <paramref name="i"/> of <paramref name="count"/>, in time order.</summary>
    private static void Fill(AuditEvent e, Random random, long i, long count, DateTime from, long span, AuditPeople people, int[] cumulative, int total)
    {
        var pick = random.Next(total);
        var type = Types[Array.FindIndex(cumulative, c => pick < c)].Type;
        // 20% of the traffic comes from 1% of the people (the heavy users, among them the benchmark's citizens).
        var person = random.Next(5) == 0 ? random.Next(HeavyPeople) : random.Next(People);
        var subject = person < people.Citizens.Count ? people.Citizens[person].Id : $"{person:x8}-0000-4000-8000-{person:x12}";
        // Busier apps first: the square skews the traffic towards low numbers.
        var u = random.NextDouble();
        var client = (int)(u * u * Clients);
        var clientId = $"app-{client + 1:D3}";
        var department = people.Departments[client % people.Departments.Count];
        var userAgent = UserAgents[random.Next(UserAgents.Length)];

        e.OccurredAtUtc = AuditHash.Truncate(from.AddTicks((long)((i + random.NextDouble()) / count * span)));
        e.EventType = type;
        e.Category = type[..type.IndexOf('.', StringComparison.Ordinal)];
        e.Outcome = AuditOutcomes.Success;
        e.Reason = null;
        e.ActorName = null;
        e.SubjectId = subject;
        e.EnterpriseId = null;
        e.ClientId = clientId;
        e.DepartmentCode = department;
        e.IpAddress = string.Create(CultureInfo.InvariantCulture, $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}");
        e.UserAgent = userAgent;
        e.SessionId = Convert.ToHexStringLower(RandomBytes(random, 16));
        e.CorrelationId = Convert.ToHexStringLower(RandomBytes(random, 16));
        e.Before = null;
        e.After = null;
        e.Data = null;
        e.NodeId = SeedNode;
        switch (type)
        {
            case "signin.succeeded":
                (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("user", subject, "user", subject);
                e.Data = random.Next(10) == 0 ? """{"methods":["pwd","sms"]}""" : """{"methods":["pwd"]}""";
                break;
            case "signin.failed":
                e.Outcome = AuditOutcomes.Failure;
                var r = random.Next(10);
                e.Reason = r < 7 ? "invalid_password" : r < 9 ? "unknown_account" : "locked_out";
                if (e.Reason == "unknown_account")
                {
                    e.SubjectId = null;
                    (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("user", "anonymous", "user", "unknown");
                }
                else
                {
                    (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("user", subject, "user", subject);
                }

                e.SessionId = null;
                break;
            case "token.issued" or "token.refreshed":
                (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("client", clientId, "client", clientId);
                e.Data = type == "token.issued"
                    ? """{"grantType":"authorization_code","tokens":["access_token","id_token","refresh_token"],"scopes":["openid","profile","phone"],"tokenIds":{}}"""
                    : """{"grantType":"refresh_token","tokens":["access_token","refresh_token"],"scopes":["openid","profile","phone"],"tokenIds":{}}""";
                break;
            case "claims.released":
                (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("client", clientId, "user", subject);
                e.Data = ClaimSets[random.Next(ClaimSets.Length)];
                break;
            case "signout.completed":
                (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("user", subject, "user", subject);
                e.Data = """{"initiatedBy":"client"}""";
                break;
            case "token.failed":
                e.Outcome = AuditOutcomes.Failure;
                e.Reason = random.Next(3) == 0 ? "invalid_client" : "invalid_grant";
                e.SubjectId = null;
                e.SessionId = null;
                (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("client", clientId, "client", clientId);
                e.Data = """{"grantType":"refresh_token"}""";
                break;
            case "token.revoked":
                (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("client", clientId, "token", e.CorrelationId);
                e.Data = """{"tokenType":"refresh_token"}""";
                break;
            default:
                (e.ActorKind, e.ActorId, e.TargetType, e.TargetId) = ("system", "session-timeout", "session", e.SessionId);
                e.After = """{"reason":"logout","clients":[]}""";
                break;
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void Write(NpgsqlBinaryImporter import, AuditEvent e)
    {
        import.StartRow();
        import.Write(DateTime.SpecifyKind(e.OccurredAtUtc, DateTimeKind.Utc), NpgsqlDbType.TimestampTz);
        foreach (var text in new[]
                 {
                     e.Category, e.EventType, e.Outcome, e.Reason, e.ActorKind, e.ActorId, e.ActorName, e.SubjectId, e.EnterpriseId, e.ClientId,
                     e.TargetType, e.TargetId, e.DepartmentCode, e.IpAddress, e.UserAgent, e.SessionId, e.CorrelationId, e.Before, e.After, e.Data,
                     e.NodeId,
                 })
        {
            if (text is null)
            {
                import.WriteNull();
            }
            else
            {
                import.Write(text, NpgsqlDbType.Text);
            }
        }

        import.Write(e.Sequence!.Value, NpgsqlDbType.Bigint);
        import.Write(e.PreviousHash!, NpgsqlDbType.Text);
        import.Write(e.Hash!, NpgsqlDbType.Text);
    }

    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql, params (string Name, object Value)[] parameters) =>
        await ExecuteAsync(connection, sql, 300, parameters);

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, int timeout, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = timeout };
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

}
