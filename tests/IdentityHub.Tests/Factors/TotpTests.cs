using System.Net;

namespace IdentityHub.Tests.Factors;

public sealed class TotpTests(FactorsFixture fixture) : IClassFixture<FactorsFixture>
{
    /// <summary>An account with an authenticator app, and a department app's sign-in stopped at the second step.</summary>
    private async Task<(byte[] Secret, string[] RecoveryCodes, string UserName)> EnrolledAccountAsync()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        using var setup = new AccountClient(fixture.Server);
        await setup.SignInAsync(userName, FactorsFixture.Password);
        var (secret, codes) = await fixture.EnrolTotpAsync(setup);
        return (secret, codes, userName);
    }

    private async Task<(AccountClient Browser, OidcClient App, AccountClient.Page Page)> PasswordStepAsync(string userName)
    {
        var app = await OidcClient.RegisterAsync(fixture.Server);
        var browser = new AccountClient(fixture.Server);
        var login = await browser.GetAsync(app.AuthorizeUrl());
        var page = await browser.SubmitAsync(login, null, new() { ["Input.SignInName"] = userName, ["Input.Password"] = FactorsFixture.Password });
        Assert.Equal("/Account/Login/SecondFactor", page.Path);
        return (browser, app, page);
    }

    private static Task<AccountClient.Page> SubmitTotpAsync(AccountClient browser, AccountClient.Page page, string code) =>
        browser.SubmitAsync(page, "Verify", new() { ["Method"] = "Totp", ["Code"] = code });

    [Fact]
    public async Task Totp_EnrolledWithQrAndKey_SignInAsksForCodeAndIdTokenSaysOtpMfa()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        using var setup = new AccountClient(fixture.Server);
        await setup.SignInAsync(userName, FactorsFixture.Password);
        var enrolment = await setup.GetAsync("/Account/Manage/Authenticator");
        Assert.Contains("src=\"data:image/png;base64,", enrolment.Body);
        var (secret, codes) = await fixture.EnrolTotpAsync(setup);
        Assert.Equal(10, codes.Length);
        Assert.Equal("On", (await setup.GetAsync("/Account/Manage")).Text("two-step-status"));

        var (browser, app, page) = await PasswordStepAsync(userName);
        using (browser)
        {
            var done = await SubmitTotpAsync(browser, page, fixture.TotpAt(secret, TimeSpan.Zero));
            Assert.NotNull(done.Callback);
            var idToken = await app.RedeemAsync(done.Callback!);
            Assert.Equal(["pwd", "otp", "mfa"], OidcClient.Amr(idToken));
            Assert.Equal("urn:identityhub:acr:mfa", idToken.GetProperty("acr").GetString());
        }
    }

    [Fact]
    public async Task Totp_WrongCode_RefusedOnTheSecondStep()
    {
        var (secret, _, userName) = await EnrolledAccountAsync();
        var (browser, _, page) = await PasswordStepAsync(userName);
        using (browser)
        {
            var right = fixture.TotpAt(secret, TimeSpan.Zero);
            var wrong = ((int.Parse(right, System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
            var refused = await SubmitTotpAsync(browser, page, wrong);
            Assert.Null(refused.Callback);
            Assert.Equal("/Account/Login/SecondFactor", refused.Path);
            Assert.Equal("That did not work. Please try again.", refused.Text("factor-error"));
        }
    }

    [Fact]
    public async Task Totp_CodeAlreadyUsed_RefusedForTheNextSignIn()
    {
        var (secret, _, userName) = await EnrolledAccountAsync();
        var code = fixture.TotpAt(secret, TimeSpan.Zero);
        var (first, app, firstPage) = await PasswordStepAsync(userName);
        using (first)
        {
            Assert.NotNull((await SubmitTotpAsync(first, firstPage, code)).Callback);
        }

        var (second, _, secondPage) = await PasswordStepAsync(userName);
        using (second)
        {
            var replay = await SubmitTotpAsync(second, secondPage, code);
            Assert.Null(replay.Callback);
            Assert.True(replay.Has("factor-error"));
        }
    }

    [Fact]
    public async Task Totp_ClockDriftOfOneStep_AcceptedButTwoStepsRefused()
    {
        var (secret, _, userName) = await EnrolledAccountAsync();
        // A phone 30 seconds slow: its code is of the previous step.
        fixture.Clock.Advance(TimeSpan.FromMinutes(2));
        var (slow, _, slowPage) = await PasswordStepAsync(userName);
        using (slow)
        {
            Assert.NotNull((await SubmitTotpAsync(slow, slowPage, fixture.TotpAt(secret, TimeSpan.FromSeconds(-30)))).Callback);
        }

        // A phone a minute fast is two steps off: refused; thirty seconds fast is one step: accepted.
        var (fast, _, fastPage) = await PasswordStepAsync(userName);
        using (fast)
        {
            var twoSteps = await SubmitTotpAsync(fast, fastPage, fixture.TotpAt(secret, TimeSpan.FromSeconds(60)));
            Assert.Null(twoSteps.Callback);
            var oneStep = await SubmitTotpAsync(fast, twoSteps, fixture.TotpAt(secret, TimeSpan.FromSeconds(30)));
            Assert.NotNull(oneStep.Callback);
        }
    }

    [Fact]
    public async Task RecoveryCode_UsedOnce_RefusedTheSecondTime()
    {
        var (_, codes, userName) = await EnrolledAccountAsync();
        var (first, app, firstPage) = await PasswordStepAsync(userName);
        using (first)
        {
            var done = await first.SubmitAsync(firstPage, "Verify", new() { ["Method"] = "Recovery", ["Code"] = codes[0].ToLowerInvariant() });
            Assert.NotNull(done.Callback);
            Assert.Equal(["pwd", "otp", "mfa"], OidcClient.Amr(await app.RedeemAsync(done.Callback!)));
        }

        var (second, _, secondPage) = await PasswordStepAsync(userName);
        using (second)
        {
            var again = await second.SubmitAsync(secondPage, "Verify", new() { ["Method"] = "Recovery", ["Code"] = codes[0] });
            Assert.Null(again.Callback);
            Assert.True(again.Has("factor-error"));
            Assert.NotNull((await second.SubmitAsync(again, "Verify", new() { ["Method"] = "Recovery", ["Code"] = codes[1] })).Callback);
        }
    }

    [Fact]
    public async Task SecondFactorPage_WithoutFirstFactor_SendsToSignIn()
    {
        using var browser = new AccountClient(fixture.Server);
        var page = await browser.GetAsync("/Account/Login/SecondFactor");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("/Account/Login", page.Path);
    }
}
