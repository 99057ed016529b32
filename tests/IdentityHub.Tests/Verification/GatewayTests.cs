using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Verification;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.VerificationSimulator;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Verification;

/// <summary>IdentityHub configured against a running simulator, with extra providers for the breaker and fallback tests.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public SimulatorHost Simulator { get; private set; } = null!;

    public IdentityHubServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await SimulatorHost.StartAsync();
        Server = await IdentityHubServer.StartAsync("Sqlite", settings =>
        {
            Simulator.Configure(settings);
            // Fails twice in a row -> open; no retries so that each request is one call; the carrier answers instead.
            Simulator.AddProvider(settings, "ps-breaker", "PublicSecurity", maxRetries: 0, breakAfterFailures: 2, fallback: "carrier");
            Simulator.AddProvider(settings, "ps-one-retry", "PublicSecurity", timeout: "00:00:00.300", maxRetries: 1);
            // Failures on purpose, with a breaker of its own: the shared providers' breakers stay closed.
            Simulator.AddProvider(settings, "ps-failing", "PublicSecurity", breakAfterFailures: 100);
            settings["Verification:MaxAttemptsPerAccount"] = "3";
        });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Simulator.DisposeAsync();
    }

    public async Task<VerificationResult> VerifyAsync(string provider, VerificationRequest request, string? account = null)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var gateway = scope.ServiceProvider.GetRequiredService<VerificationGateway>();
        account ??= "acct-" + Guid.NewGuid().ToString("N");
        return await gateway.VerifyAsync(provider, request, AuditActor.User(account, null), account, CancellationToken.None);
    }

    private HttpClient? _auditor;

    /// <summary>The account's verification.call audit events, oldest first, as an auditor reads them (/api/audit).</summary>
    public async Task<List<JsonElement>> AuditAsync(string account)
    {
        _auditor ??= await new AdminApiClient(Server).SignedInPersonAsync("auditor");
        var page = await _auditor.GetFromJsonAsync<JsonElement>($"/api/audit/events?userId={account}&type=verification.call&limit=200");
        return page.GetProperty("items").EnumerateArray().Reverse().Select(e => e.Clone()).ToList();
    }
}

/// <summary>Retries, breaker, fallback, cache, attempt limit and audit of <see cref="VerificationGateway"/>, against the simulator over HTTP.</summary>
public sealed class GatewayTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static string Key() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Gateway_FlakyProvider_RetriedWithTheSameIdempotencyKeyThenMatch()
    {
        var key = Key();
        var result = await fixture.VerifyAsync("public-security", new PersonCheck(key, "抖动测试", TestIdentities.NewIdNumber()));
        Assert.Equal(VerificationOutcome.Match, result.Outcome);
        Assert.Equal(2, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath, key));
    }

    [Fact]
    public async Task Gateway_Mismatch_NeverRetried()
    {
        var id = TestIdentities.NewIdNumber();
        await fixture.Simulator.AddPersonAsync("吴刚", id);
        var key = Key();
        var result = await fixture.VerifyAsync("public-security", new PersonCheck(key, "吴钢", id));
        Assert.Equal(VerificationOutcome.Mismatch, result.Outcome);
        Assert.Equal(1, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath, key));
    }

    [Fact]
    public async Task Gateway_ProviderTimesOut_RetriedOnceThenTimeout()
    {
        var key = Key();
        var result = await fixture.VerifyAsync("ps-one-retry", new PersonCheck(key, "超时测试", TestIdentities.NewIdNumber()));
        Assert.Equal(VerificationOutcome.Timeout, result.Outcome);
        Assert.Equal(2, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath, key));
    }

    [Fact]
    public async Task Gateway_ProviderKeepsFailing_CircuitOpensAndTheFallbackAnswers()
    {
        for (var i = 0; i < 2; i++)
        {
            await fixture.VerifyAsync("ps-breaker", new PersonCheck(Key(), "故障测试", TestIdentities.NewIdNumber()));
        }

        var (id, mobile) = (TestIdentities.NewIdNumber(), UniqueNames.Mobile());
        await fixture.Simulator.AddPersonAsync("郑洁", id, mobile);
        var key = Key();
        var account = "acct-" + Key();
        var result = await fixture.VerifyAsync("ps-breaker", new PersonCheck(key, "郑洁", id, mobile), account);

        Assert.Equal(VerificationOutcome.Match, result.Outcome);
        Assert.Equal(VerificationKind.CarrierThreeElement, result.Kind);
        Assert.Equal("carrier", result.Provider);
        // The open circuit refused the call: public security never saw this request.
        Assert.Equal(0, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath, key));
        var audit = await fixture.AuditAsync(account);
        Assert.Equal(["ps-breaker:ProviderError:circuit_open", "carrier:Match:MATCH"],
            audit.Select(e => Field(e, "provider") + ":" + Field(e, "outcome") + ":" + Field(e, "rawCode")).ToArray());
    }

    [Fact]
    public async Task Gateway_SameMatchTwice_SecondAnsweredFromCacheUnbilled()
    {
        var id = TestIdentities.NewIdNumber();
        await fixture.Simulator.AddPersonAsync("冯雪", id);
        var first = await fixture.VerifyAsync("public-security", new PersonCheck(Key(), "冯雪", id));
        var key = Key();
        var second = await fixture.VerifyAsync("public-security", new PersonCheck(key, "冯雪", id));

        Assert.Equal(VerificationOutcome.Match, first.Outcome);
        Assert.True(first.Billable);
        Assert.Equal(VerificationOutcome.Match, second.Outcome);
        Assert.True(second.FromCache);
        Assert.False(second.Billable);
        Assert.Equal(first.TransactionId, second.TransactionId);
        Assert.Equal(0, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath, key));
    }

    [Fact]
    public async Task Gateway_ProviderError_NeverCached()
    {
        var id = TestIdentities.NewIdNumber();
        await fixture.VerifyAsync("ps-failing", new PersonCheck(Key(), "Fail 测试", id));
        var key = Key();
        var again = await fixture.VerifyAsync("ps-failing", new PersonCheck(key, "Fail 测试", id));
        Assert.Equal(VerificationOutcome.ProviderError, again.Outcome);
        Assert.False(again.FromCache);
        Assert.Equal(3, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath, key)); // 1 + 2 retries
    }

    [Fact]
    public async Task Gateway_TooManyAttemptsForOneAccount_RateLimitedWithoutCalling()
    {
        var account = "acct-" + Key();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(VerificationOutcome.NotFound,
                (await fixture.VerifyAsync("public-security", new PersonCheck(Key(), "秦岭", TestIdentities.NewIdNumber()), account)).Outcome);
        }

        var key = Key();
        var refused = await fixture.VerifyAsync("public-security", new PersonCheck(key, "秦岭", TestIdentities.NewIdNumber()), account);
        Assert.Equal(VerificationOutcome.RateLimited, refused.Outcome);
        Assert.Equal(VerificationGateway.LocalProvider, refused.Provider);
        Assert.Equal(0, await fixture.Simulator.CallsAsync(SimulatorApp.PublicSecurityPath, key));
    }

    [Fact]
    public async Task Gateway_EveryCall_AuditedWithProviderOutcomeTransactionBillableLatencyNeverTheIdNumber()
    {
        var id = TestIdentities.NewIdNumber();
        await fixture.Simulator.AddPersonAsync("褚英", id);
        var account = "acct-" + Key();
        var key = Key();
        var result = await fixture.VerifyAsync("public-security", new PersonCheck(key, "褚英", id), account);

        var audit = Assert.Single(await fixture.AuditAsync(account));
        var after = JsonDocument.Parse(audit.GetProperty("after").GetString()!).RootElement;
        Assert.Equal("public-security", after.GetProperty("provider").GetString());
        Assert.Equal("PublicSecurityTwoElement", after.GetProperty("kind").GetString());
        Assert.Equal("Match", after.GetProperty("outcome").GetString());
        Assert.Equal(result.TransactionId, after.GetProperty("transactionId").GetString());
        Assert.True(after.GetProperty("billable").GetBoolean());
        Assert.True(after.GetProperty("latencyMs").GetInt64() >= 0);
        Assert.Equal(key, after.GetProperty("idempotencyKey").GetString());
        Assert.DoesNotContain(id, audit.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("褚英", audit.GetRawText(), StringComparison.Ordinal);
    }

    private static string? Field(JsonElement audit, string name) =>
        JsonDocument.Parse(audit.GetProperty("after").GetString()!).RootElement.GetProperty(name).GetString();
}
