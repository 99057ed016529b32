using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>The auditor API's filters, keyset pages under concurrent inserts, exports and statistics. SQLite and PostgreSQL.</summary>
public abstract class AuditorQueryTests(AuditFixture fixture)
{
    [Fact]
    public async Task Search_EachCriterion_ReturnsExactlyItsEvents()
    {
        var start = DateTimeOffset.UtcNow.AddSeconds(-1);
        var (first, x, _) = await fixture.NewWebClientAsync();
        var (_, y, _) = await fixture.NewWebClientAsync();
        var a = await fixture.NewCitizenAsync();
        var b = await fixture.NewCitizenAsync();
        var (ipA1, ipA2, ipB) = (IdentityEventTests.UniqueIp(), IdentityEventTests.UniqueIp(), IdentityEventTests.UniqueIp());
        await fixture.SignInAsync(new CookieContainer(), a.UserName, RegistryFixture.Password, ip: ipA1, returnUrl: ReturnUrl(x));
        await fixture.SignInAsync(new CookieContainer(), a.UserName, "Wrong-Passw0rd", ip: ipA2, returnUrl: ReturnUrl(y));
        await fixture.SignInAsync(new CookieContainer(), b.UserName, RegistryFixture.Password, ip: ipB, returnUrl: ReturnUrl(y));

        Assert.Equal(2, (await fixture.EventsAsync($"userName={a.UserName}&type=signin")).Count);
        Assert.Equal(b.Id, Assert.Single(await fixture.EventsAsync($"mobile={b.Mobile}&type=signin")).GetProperty("subjectId").GetString());
        Assert.Equal("invalid_password", Assert.Single(await fixture.EventsAsync($"userId={a.Id}&outcome=failure")).GetProperty("reason").GetString());
        Assert.Equal(ipA1, Assert.Single(await fixture.EventsAsync($"department={first}&type=signin")).GetProperty("ipAddress").GetString());
        Assert.Equal(2, (await fixture.EventsAsync($"client={y}&type=signin")).Count);
        Assert.Equal(a.Id, Assert.Single(await fixture.EventsAsync($"ip={ipA2}")).GetProperty("subjectId").GetString());
        Assert.Equal(2, (await fixture.EventsAsync($"type=signin&from={Time(start)}&userId={a.Id}")).Count);
        Assert.Empty(await fixture.EventsAsync($"userId={a.Id}&from={Time(DateTimeOffset.UtcNow.AddHours(1))}"));
        Assert.Empty(await fixture.EventsAsync($"userId={a.Id}&to={Time(start)}"));
        Assert.Empty(await fixture.EventsAsync("userName=" + RegistryFixture.Unique("nobody")));
        var auditor = await fixture.AuditorAsync();
        using var idNumber = await auditor.GetAsync("/api/audit/events?idNumber=110101199003071234");
        Assert.Contains("idNumber", (await RegistryFixture.Expect(idNumber, HttpStatusCode.BadRequest)).GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pages_WhileEventsArrive_NoGapsAndNoRepeats()
    {
        var (clientId, secret) = await MachineClientAsync();
        for (var i = 0; i < 25; i++)
        {
            await TokenAsync(clientId, secret);
        }

        var before = (await fixture.EventsAsync("client=" + clientId)).Select(e => e.GetProperty("id").GetInt64()).ToHashSet();
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await TokenAsync(clientId, secret);
            }
        });

        var paged = new List<JsonElement>();
        string? cursor = null;
        var auditor = await fixture.AuditorAsync();
        do
        {
            using var response = await auditor.GetAsync($"/api/audit/events?client={clientId}&limit=4" + (cursor is null ? "" : "&cursor=" + cursor));
            var page = await RegistryFixture.Expect(response, HttpStatusCode.OK);
            paged.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        await stop.CancelAsync();
        await writer;
        var ids = paged.Select(e => e.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Subset(ids.ToHashSet(), before);
        var keys = paged.Select(e => (e.GetProperty("occurredAtUtc").GetDateTime(), e.GetProperty("id").GetInt64())).ToList();
        Assert.Equal(keys.OrderByDescending(k => k.Item1).ThenByDescending(k => k.Item2), keys);
    }

    [Fact]
    public async Task Export_CsvAndJson_HoldTheEventsAndTheirHashIsRecorded()
    {
        var (clientId, secret) = await MachineClientAsync();
        for (var i = 0; i < 3; i++)
        {
            await TokenAsync(clientId, secret);
        }

        var ids = (await fixture.EventsAsync("client=" + clientId)).Select(e => e.GetProperty("id").GetInt64().ToString()).ToList();
        var auditor = await fixture.AuditorAsync();
        var digests = new List<string>();
        foreach (var format in new[] { "csv", "json" })
        {
            using var response = await auditor.GetAsync($"/api/audit/events/export?client={clientId}&format={format}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsByteArrayAsync();
            var digest = Convert.ToHexStringLower(SHA256.HashData(body));
            Assert.Equal(digest, response.Headers.GetValues("X-Content-SHA256").Single());
            digests.Add(digest);
            var text = Encoding.UTF8.GetString(body);
            if (format == "csv")
            {
                var lines = text.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
                Assert.StartsWith("id,occurredAtUtc,eventType", lines[0], StringComparison.Ordinal);
                Assert.Equal(ids.Order(), lines.Skip(1).Select(l => l.Split(',')[0]).Order());
            }
            else
            {
                using var json = JsonDocument.Parse(body);
                Assert.Equal(ids.Order(), json.RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetInt64().ToString()).Order());
            }
        }

        var exports = await fixture.EventsAsync("type=audit.export");
        foreach (var digest in digests)
        {
            Assert.Contains(exports, e => e.GetProperty("data").GetString()!.Contains($"\"sha256\":\"{digest}\"", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Statistics_SignInsOfADepartment_CountedForTodayWithFailureReasons()
    {
        var (department, clientId, _) = await fixture.NewWebClientAsync();
        var citizen = await fixture.NewCitizenAsync();
        await fixture.SignInAsync(new CookieContainer(), citizen.UserName, RegistryFixture.Password, returnUrl: ReturnUrl(clientId));
        await fixture.SignInAsync(new CookieContainer(), citizen.UserName, RegistryFixture.Password, returnUrl: ReturnUrl(clientId));
        await fixture.SignInAsync(new CookieContainer(), citizen.UserName, "Wrong-Passw0rd", returnUrl: ReturnUrl(clientId));
        var auditor = await fixture.AuditorAsync();

        using var response = await auditor.GetAsync("/api/audit/statistics/sign-ins?department=" + department);

        var statistics = await RegistryFixture.Expect(response, HttpStatusCode.OK);
        var day = Assert.Single(statistics.GetProperty("days").EnumerateArray());
        Assert.Equal(department, day.GetProperty("department").GetString());
        Assert.Equal((2, 1), (day.GetProperty("succeeded").GetInt32(), day.GetProperty("failed").GetInt32()));
        Assert.Equal(1, statistics.GetProperty("failureReasons").GetProperty("invalid_password").GetInt32());
    }

    /// <summary>The sign-in page's ReturnUrl when a department app sent the person: the event names the app and its department.</summary>
    internal static string ReturnUrl(string clientId) => "/connect/authorize?client_id=" + clientId + "&response_type=code&scope=openid";

    private static string Time(DateTimeOffset value) => Uri.EscapeDataString(value.ToString("O"));

    private async Task<(string ClientId, string Secret)> MachineClientAsync()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("m");
        return (clientId, (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!);
    }

    private async Task TokenAsync(string clientId, string secret)
    {
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret,
        }));
        response.EnsureSuccessStatusCode();
    }
}

public sealed class AuditorQueryTests_Sqlite(AuditFixture fixture) : AuditorQueryTests(fixture), IClassFixture<AuditFixture>;

public sealed class AuditorQueryTests_Postgres(PostgresAuditFixture fixture) : AuditorQueryTests(fixture), IClassFixture<PostgresAuditFixture>;
