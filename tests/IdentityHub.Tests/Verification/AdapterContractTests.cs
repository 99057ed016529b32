using IdentityHub.Server.Verification;
using IdentityHub.Server.Verification.Adapters;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.VerificationSimulator;

namespace IdentityHub.Tests.Verification;

public sealed class SimulatorFixture : IAsyncLifetime
{
    public SimulatorHost Simulator { get; private set; } = null!;

    public async Task InitializeAsync() => Simulator = await SimulatorHost.StartAsync();

    public async Task DisposeAsync() => await Simulator.DisposeAsync();
}

/// <summary>
/// The contract every authority adapter keeps, run against the simulator over real HTTP: each outcome of the
/// taxonomy from the authority's own answers, the idempotency key sent, and no exception for any failure.
/// </summary>
public abstract class AdapterContractTests(SimulatorFixture fixture)
{
    protected SimulatorHost Simulator => fixture.Simulator;

    protected abstract AdapterType Type { get; }

    protected abstract VerificationKind Kind { get; }

    protected abstract string Endpoint { get; }

    /// <summary>A record the authority knows (registered in the simulator), asked about with its own data.</summary>
    protected abstract Task<VerificationRequest> KnownAsync(string key);

    /// <summary>The known record with a wrong name.</summary>
    protected abstract Task<VerificationRequest> WrongNameAsync(string key);

    protected abstract VerificationRequest Unknown(string key);

    /// <summary>A request whose name carries a simulator keyword.</summary>
    protected abstract VerificationRequest WithName(string key, string name);

    protected abstract VerificationRequest Malformed(string key);

    protected IVerificationAdapter Adapter(string? apiKey = SimulatorHost.ApiKey, Uri? baseUrl = null, string timeout = "00:00:10") =>
        AuthorityAdapters.Create("contract-" + Type, new AuthorityOptions
        {
            Adapter = Type,
            BaseUrl = baseUrl ?? Simulator.BaseAddress,
            ApiKey = apiKey,
            ClientId = "identityhub-test",
            Timeout = TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture),
        }, new HttpClient { Timeout = Timeout.InfiniteTimeSpan });

    protected static string Key() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Adapter_KnownRecord_MatchWithTransactionIdBillable()
    {
        var result = await Adapter().VerifyAsync(await KnownAsync(Key()), CancellationToken.None);
        Assert.Equal(VerificationOutcome.Match, result.Outcome);
        Assert.Equal(Kind, result.Kind);
        Assert.False(string.IsNullOrEmpty(result.TransactionId));
        Assert.True(result.Billable);
    }

    [Fact]
    public async Task Adapter_WrongName_MismatchNamingTheField()
    {
        var result = await Adapter().VerifyAsync(await WrongNameAsync(Key()), CancellationToken.None);
        Assert.Equal(VerificationOutcome.Mismatch, result.Outcome);
        Assert.Contains("name", result.MismatchedFields ?? []);
        Assert.True(result.Billable);
    }

    [Fact]
    public async Task Adapter_UnknownRecord_NotFound()
    {
        Assert.Equal(VerificationOutcome.NotFound, (await Adapter().VerifyAsync(Unknown(Key()), CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task Adapter_MalformedInput_InvalidInputNotBillable()
    {
        var result = await Adapter().VerifyAsync(Malformed(Key()), CancellationToken.None);
        Assert.Equal(VerificationOutcome.InvalidInput, result.Outcome);
        Assert.False(result.Billable);
    }

    [Theory]
    [InlineData("测试不支持", VerificationOutcome.Unsupported)]
    [InlineData("Limit 测试", VerificationOutcome.RateLimited)]
    [InlineData("测试故障", VerificationOutcome.ProviderError)]
    [InlineData("测试超时", VerificationOutcome.Timeout)]
    [InlineData("Invalid 测试", VerificationOutcome.InvalidInput)]
    public async Task Adapter_KeywordScenario_MappedToTaxonomy(string name, VerificationOutcome expected)
    {
        // Only the timeout case needs a short timeout; answers get a generous one on a busy machine.
        var adapter = Adapter(timeout: expected == VerificationOutcome.Timeout ? "00:00:00.300" : "00:00:10");
        var result = await adapter.VerifyAsync(WithName(Key(), name), CancellationToken.None);
        Assert.Equal(expected, result.Outcome);
        Assert.False(result.Billable);
    }

    [Fact]
    public async Task Adapter_WrongCredentials_ProviderError()
    {
        var result = await Adapter(apiKey: "not-the-key").VerifyAsync(Unknown(Key()), CancellationToken.None);
        Assert.Equal(VerificationOutcome.ProviderError, result.Outcome);
        Assert.Equal("http_401", result.RawCode);
    }

    [Fact]
    public async Task Adapter_NothingListening_ProviderError()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var result = await Adapter(baseUrl: new Uri($"http://127.0.0.1:{port}/")).VerifyAsync(Unknown(Key()), CancellationToken.None);
        Assert.Equal(VerificationOutcome.ProviderError, result.Outcome);
    }

    [Fact]
    public async Task Adapter_AnyCall_SendsTheIdempotencyKey()
    {
        var key = Key();
        await Adapter().VerifyAsync(Unknown(key), CancellationToken.None);
        Assert.Equal(1, await Simulator.CallsAsync(Endpoint, key));
    }
}

public sealed class PublicSecurityAdapterContractTests(SimulatorFixture fixture) : AdapterContractTests(fixture), IClassFixture<SimulatorFixture>
{
    protected override AdapterType Type => AdapterType.PublicSecurity;

    protected override VerificationKind Kind => VerificationKind.PublicSecurityTwoElement;

    protected override string Endpoint => SimulatorApp.PublicSecurityPath;

    protected override async Task<VerificationRequest> KnownAsync(string key)
    {
        var id = TestIdentities.NewIdNumber();
        await Simulator.AddPersonAsync("陈明", id);
        return new PersonCheck(key, "陈明", id);
    }

    protected override async Task<VerificationRequest> WrongNameAsync(string key)
    {
        var id = TestIdentities.NewIdNumber();
        await Simulator.AddPersonAsync("陈明", id);
        return new PersonCheck(key, "陈亮", id);
    }

    protected override VerificationRequest Unknown(string key) => new PersonCheck(key, "陈明", TestIdentities.NewIdNumber());

    protected override VerificationRequest WithName(string key, string name) => new PersonCheck(key, name, TestIdentities.NewIdNumber());

    protected override VerificationRequest Malformed(string key) => new PersonCheck(key, "陈明", "1101051949123100");
}

public sealed class CarrierAdapterContractTests(SimulatorFixture fixture) : AdapterContractTests(fixture), IClassFixture<SimulatorFixture>
{
    protected override AdapterType Type => AdapterType.Carrier;

    protected override VerificationKind Kind => VerificationKind.CarrierThreeElement;

    protected override string Endpoint => SimulatorApp.CarrierPath;

    protected override async Task<VerificationRequest> KnownAsync(string key)
    {
        var (id, mobile) = (TestIdentities.NewIdNumber(), UniqueNames.Mobile());
        await Simulator.AddPersonAsync("林芳", id, mobile);
        return new PersonCheck(key, "林芳", id, mobile);
    }

    protected override async Task<VerificationRequest> WrongNameAsync(string key)
    {
        var (id, mobile) = (TestIdentities.NewIdNumber(), UniqueNames.Mobile());
        await Simulator.AddPersonAsync("林芳", id, mobile);
        return new PersonCheck(key, "林方", id, mobile);
    }

    protected override VerificationRequest Unknown(string key) => new PersonCheck(key, "林芳", TestIdentities.NewIdNumber(), UniqueNames.Mobile());

    protected override VerificationRequest WithName(string key, string name) =>
        new PersonCheck(key, name, TestIdentities.NewIdNumber(), UniqueNames.Mobile());

    protected override VerificationRequest Malformed(string key) => new PersonCheck(key, "林芳", TestIdentities.NewIdNumber(), "1234");

    [Fact]
    public async Task Adapter_MobileOfSomeoneElse_MismatchNamingTheMobile()
    {
        var id = TestIdentities.NewIdNumber();
        await Simulator.AddPersonAsync("林芳", id, UniqueNames.Mobile());
        var result = await Adapter().VerifyAsync(new PersonCheck(Key(), "林芳", id, UniqueNames.Mobile()), CancellationToken.None);
        Assert.Equal(VerificationOutcome.Mismatch, result.Outcome);
        Assert.Equal(["mobile"], result.MismatchedFields);
    }
}

public sealed class BusinessRegistryAdapterContractTests(SimulatorFixture fixture) : AdapterContractTests(fixture), IClassFixture<SimulatorFixture>
{
    protected override AdapterType Type => AdapterType.BusinessRegistry;

    protected override VerificationKind Kind => VerificationKind.BusinessRegistration;

    protected override string Endpoint => SimulatorApp.BusinessPath;

    protected override async Task<VerificationRequest> KnownAsync(string key)
    {
        var code = TestIdentities.NewCreditCode();
        await Simulator.AddEnterpriseAsync(code, "示例科技有限公司", "陈明");
        return new EnterpriseCheck(key, code, "示例科技有限公司", "陈明");
    }

    protected override async Task<VerificationRequest> WrongNameAsync(string key)
    {
        var code = TestIdentities.NewCreditCode();
        await Simulator.AddEnterpriseAsync(code, "示例科技有限公司", "陈明");
        return new EnterpriseCheck(key, code, "另一家有限公司", "陈明");
    }

    protected override VerificationRequest Unknown(string key) => new EnterpriseCheck(key, TestIdentities.NewCreditCode(), "示例科技有限公司", "陈明");

    protected override VerificationRequest WithName(string key, string name) => new EnterpriseCheck(key, TestIdentities.NewCreditCode(), name, "陈明");

    protected override VerificationRequest Malformed(string key) => new EnterpriseCheck(key, "9111", "示例科技有限公司", "陈明");

    [Fact]
    public async Task Adapter_OtherLegalRepresentative_MismatchNamingIt()
    {
        var code = TestIdentities.NewCreditCode();
        await Simulator.AddEnterpriseAsync(code, "示例科技有限公司", "陈明");
        var result = await Adapter().VerifyAsync(new EnterpriseCheck(Key(), code, "示例科技有限公司", "王强"), CancellationToken.None);
        Assert.Equal(VerificationOutcome.Mismatch, result.Outcome);
        Assert.Equal(["legal_representative"], result.MismatchedFields);
    }
}
