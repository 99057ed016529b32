using System.Text.Json;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Factors;

/// <summary>acr and amr for each way of signing in, and step-up when an app asks for multi-factor.</summary>
public sealed class StepUpTests(FactorsFixture fixture) : IClassFixture<FactorsFixture>
{
    /// <summary>An account with an authenticator app but two-step verification turned off: a password alone signs in.</summary>
    private async Task<(string UserName, byte[] Secret)> SingleFactorAccountWithTotpAsync()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        using var setup = new AccountClient(fixture.Server);
        await setup.SignInAsync(userName, FactorsFixture.Password);
        var (secret, _) = await fixture.EnrolTotpAsync(setup);
        var overview = await setup.PostAsync("/Account/Manage", "DisableTwoFactor", []);
        Assert.Equal("Off", overview.Text("two-step-status"));
        return (userName, secret);
    }

    private static async Task<JsonElement> PasswordSignInAsync(AccountClient browser, OidcClient app, string userName)
    {
        var login = await browser.GetAsync(app.AuthorizeUrl());
        var done = await browser.SubmitAsync(login, null, new() { ["Input.SignInName"] = userName, ["Input.Password"] = FactorsFixture.Password });
        Assert.NotNull(done.Callback);
        return await app.RedeemAsync(done.Callback!);
    }

    [Fact]
    public async Task PasswordOnly_NoRequirement_AcrSingleFactorAmrPwd()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        var app = await OidcClient.RegisterAsync(fixture.Server);
        using var browser = new AccountClient(fixture.Server);
        var idToken = await PasswordSignInAsync(browser, app, userName);
        Assert.Equal(["pwd"], OidcClient.Amr(idToken));
        Assert.Equal("urn:identityhub:acr:sfa", idToken.GetProperty("acr").GetString());
    }

    [Fact]
    public async Task AcrValuesMfa_SingleFactorSession_StepsUpWithTotpAndKeepsTheSession()
    {
        var (userName, secret) = await SingleFactorAccountWithTotpAsync();
        var app = await OidcClient.RegisterAsync(fixture.Server);
        using var browser = new AccountClient(fixture.Server);
        var first = await PasswordSignInAsync(browser, app, userName);

        var stepUp = await browser.GetAsync(app.AuthorizeUrl(acrValues: "urn:identityhub:acr:mfa"));
        Assert.Equal("/Account/Login/SecondFactor", stepUp.Path);
        Assert.Equal("The application asks for a stronger sign-in: one more step, please.", stepUp.Text("second-factor-intro"));
        Assert.False(stepUp.Has("factor-password"), "The password was used already.");
        var done = await browser.SubmitAsync(stepUp, "Verify", new() { ["Method"] = "Totp", ["Code"] = fixture.TotpAt(secret, TimeSpan.Zero) });
        Assert.NotNull(done.Callback);
        var second = await app.RedeemAsync(done.Callback!);
        Assert.Equal(["pwd", "otp", "mfa"], OidcClient.Amr(second));
        Assert.Equal("urn:identityhub:acr:mfa", second.GetProperty("acr").GetString());
        Assert.Equal(first.GetProperty("sid").GetString(), second.GetProperty("sid").GetString());
    }

    [Fact]
    public async Task ClientRequiringMfa_SingleFactorSession_StepsUp()
    {
        var (userName, secret) = await SingleFactorAccountWithTotpAsync();
        var plain = await OidcClient.RegisterAsync(fixture.Server);
        var strict = await OidcClient.RegisterAsync(fixture.Server, requireMfa: true);
        using var browser = new AccountClient(fixture.Server);
        await PasswordSignInAsync(browser, plain, userName);

        var stepUp = await browser.GetAsync(strict.AuthorizeUrl());
        Assert.Equal("/Account/Login/SecondFactor", stepUp.Path);
        var done = await browser.SubmitAsync(stepUp, "Verify", new() { ["Method"] = "Totp", ["Code"] = fixture.TotpAt(secret, TimeSpan.Zero) });
        Assert.Equal(["pwd", "otp", "mfa"], OidcClient.Amr(await strict.RedeemAsync(done.Callback!)));

        // The session is multi-factor now: the plain app gets it without a further step.
        var again = await browser.GetAsync(plain.AuthorizeUrl());
        Assert.Equal("urn:identityhub:acr:mfa", (await plain.RedeemAsync(again.Callback!)).GetProperty("acr").GetString());
    }

    [Fact]
    public async Task ClientMfaRequirementCleared_SingleFactorSession_SignsInWithoutStepUp()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        var plain = await OidcClient.RegisterAsync(fixture.Server);
        var strict = await OidcClient.RegisterAsync(fixture.Server, requireMfa: true);
        using var browser = new AccountClient(fixture.Server);
        await PasswordSignInAsync(browser, plain, userName);
        Assert.Equal("/Account/Login/SecondFactor", (await browser.GetAsync(strict.AuthorizeUrl())).Path);

        // The department lifts the requirement through the admin API: the next request needs no second factor.
        var policy = await new AdminApiClient(fixture.Server).SetRequireMultiFactorAsync(strict.ClientId, false);
        Assert.False(policy.GetProperty("requireMultiFactor").GetBoolean());
        var answer = await browser.GetAsync(strict.AuthorizeUrl());
        Assert.NotNull(answer.Callback);
        Assert.Equal(["pwd"], OidcClient.Amr(await strict.RedeemAsync(answer.Callback!)));
    }

    [Fact]
    public async Task ClientRequiringMfa_PromptNoneWithSingleFactorSession_InteractionRequired()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        var plain = await OidcClient.RegisterAsync(fixture.Server);
        var strict = await OidcClient.RegisterAsync(fixture.Server, requireMfa: true);
        using var browser = new AccountClient(fixture.Server);
        await PasswordSignInAsync(browser, plain, userName);

        var answer = await browser.GetAsync(strict.AuthorizeUrl(prompt: "none"));
        Assert.NotNull(answer.Callback);
        Assert.Equal("interaction_required", System.Web.HttpUtility.ParseQueryString(answer.Callback!.Query)["error"]);
    }

    [Fact]
    public async Task SmsSignIn_ClientRequiringMfa_StepsUpWithThePassword()
    {
        var (userName, phone) = await fixture.CreateUserAsync();
        var strict = await OidcClient.RegisterAsync(fixture.Server, requireMfa: true);
        using (var setup = new AccountClient(fixture.Server))
        {
            await setup.SignInAsync(userName, FactorsFixture.Password);
            await fixture.ConfirmPhoneAsync(setup, phone);
        }

        using var fresh = new AccountClient(fixture.Server);

        var login = await fresh.GetAsync(strict.AuthorizeUrl());
        var smsPage = await fresh.GetAsync(login.Url.PathAndQuery.Replace("/Account/Login?", "/Account/Login/Sms?", StringComparison.Ordinal));
        var sent = await fresh.SubmitAsync(smsPage, "Send", new() { ["PhoneNumber"] = phone });
        var stepUp = await fresh.SubmitAsync(sent, "Verify", new() { ["PhoneNumber"] = phone, ["Code"] = await fresh.LatestSmsCodeAsync(phone) });
        Assert.Equal("/Account/Login/SecondFactor", stepUp.Path);
        Assert.True(stepUp.Has("factor-password"));
        Assert.False(stepUp.Has("factor-sms-send"), "SMS was used already.");

        var done = await fresh.SubmitAsync(stepUp, "Verify", new() { ["Method"] = "Password", ["Code"] = FactorsFixture.Password });
        var idToken = await strict.RedeemAsync(done.Callback!);
        Assert.Equal(["sms", "pwd", "mfa"], OidcClient.Amr(idToken));
        Assert.Equal("urn:identityhub:acr:mfa", idToken.GetProperty("acr").GetString());
    }

    [Fact]
    public async Task Discovery_AdvertisesTheAcrValues()
    {
        using var http = fixture.Server.CreateHttpClient();
        var discovery = JsonDocument.Parse(await http.GetStringAsync("/.well-known/openid-configuration")).RootElement;
        var acrValues = discovery.GetProperty("acr_values_supported").EnumerateArray().Select(e => e.GetString()!).ToArray();
        // Login strength (this part) beside the identity assurance levels (urn:identityhub:ial:L1..L4, real-name part).
        Assert.Subset(acrValues.ToHashSet(), new HashSet<string> { "urn:identityhub:acr:sfa", "urn:identityhub:acr:mfa" });
    }
}
