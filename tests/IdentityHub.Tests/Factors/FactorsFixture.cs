using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OtpNet;

namespace IdentityHub.Tests.Factors;

/// <summary>
/// A server with a test clock for one test class. Each test creates its own accounts (unique names
/// and mobile numbers) through the admin API, and sets up their factors through the account pages.
/// </summary>
public class FactorsFixture : IAsyncLifetime
{
    public const string Password = "correct horse battery staple";

    private static int _phoneCounter = Random.Shared.Next(0, 10_000_000);

    public IdentityHubServer Server { get; private set; } = null!;

    public TestClock Clock { get; } = new();

    protected virtual string Provider => "Sqlite";

    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async Task InitializeAsync() =>
        Server = await IdentityHubServer.StartAsync(Provider, Configure, services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            ConfigureServices(services);
        });

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }

    /// <summary>A fresh account with a fresh (unconfirmed) mobile number.</summary>
    public async Task<(string UserName, string Phone)> CreateUserAsync()
    {
        var userName = "u" + Guid.NewGuid().ToString("N")[..12];
        var phone = "139" + (Interlocked.Increment(ref _phoneCounter) % 100_000_000).ToString("D8");
        await new AdminApiClient(Server).CreateUserAsync(userName, Password, phone);
        return (userName, phone);
    }

    /// <summary>Signs in with the password and confirms the mobile number with the SMS code from the outbox.</summary>
    public async Task ConfirmPhoneAsync(AccountClient account, string phone)
    {
        var page = await account.PostAsync("/Account/Manage/Phone", "Send", []);
        Assert.Equal(System.Net.HttpStatusCode.OK, page.Status);
        page = await account.SubmitAsync(page, "Confirm", new() { ["Code"] = await account.LatestSmsCodeAsync(phone) });
        Assert.True(page.Has("phone-confirmed"), page.Body);
        // The next code to this number is a minute away (Sms:ResendInterval).
        Clock.Advance(TimeSpan.FromSeconds(61));
    }

    /// <summary>Enrols an authenticator app on the signed-in account; returns its secret and the recovery codes shown.</summary>
    public async Task<(byte[] Secret, string[] RecoveryCodes)> EnrolTotpAsync(AccountClient account)
    {
        var page = await account.GetAsync("/Account/Manage/Authenticator");
        var secret = Base32Encoding.ToBytes(page.Text("totp-secret")!.Replace(" ", "", StringComparison.Ordinal));
        page = await account.SubmitAsync(page, "Confirm", new() { ["Code"] = TotpAt(secret, TimeSpan.Zero) });
        Assert.True(page.Has("totp-enabled"), page.Body);
        var codes = System.Text.RegularExpressions.Regex.Matches(page.Body, @"<li><code>([0-9A-Z-]{19})</code></li>")
            .Select(m => m.Groups[1].Value).ToArray();
        // The next sign-in needs a code of a later time step (the enrolment code's step is used).
        Clock.Advance(TimeSpan.FromSeconds(30));
        return (secret, codes);
    }

    /// <summary>The code an authenticator app shows at the server's time plus <paramref name="offset"/>.</summary>
    public string TotpAt(byte[] secret, TimeSpan offset) => new Totp(secret).ComputeTotp((Clock.GetUtcNow() + offset).UtcDateTime);
}
