using System.Net;

namespace IdentityHub.Tests.Factors;

public sealed class SmsTests(FactorsFixture fixture) : IClassFixture<FactorsFixture>
{
    /// <summary>An account whose mobile number is confirmed (by an SMS code, on the account pages).</summary>
    private async Task<(string UserName, string Phone)> ConfirmedAccountAsync(bool twoStep = false)
    {
        var (userName, phone) = await fixture.CreateUserAsync();
        using var setup = new AccountClient(fixture.Server);
        await setup.SignInAsync(userName, FactorsFixture.Password);
        await fixture.ConfirmPhoneAsync(setup, phone);
        if (twoStep)
        {
            var overview = await setup.PostAsync("/Account/Manage", "EnableTwoFactor", []);
            Assert.Equal("On", overview.Text("two-step-status"));
        }

        return (userName, phone);
    }

    [Fact]
    public async Task SmsSignIn_CodeFromDevelopmentOutbox_SignsInWithAmrSms()
    {
        var (_, phone) = await ConfirmedAccountAsync();
        var app = await OidcClient.RegisterAsync(fixture.Server);
        using var browser = new AccountClient(fixture.Server);
        var login = await browser.GetAsync(app.AuthorizeUrl());
        var smsPage = await browser.GetAsync(login.Url.PathAndQuery.Replace("/Account/Login?", "/Account/Login/Sms?", StringComparison.Ordinal));
        var sent = await browser.SubmitAsync(smsPage, "Send", new() { ["PhoneNumber"] = "+86 " + phone });
        Assert.Equal(HttpStatusCode.OK, sent.Status);
        Assert.True(sent.Has("sms-sent"));

        var done = await browser.SubmitAsync(sent, "Verify", new() { ["PhoneNumber"] = phone, ["Code"] = await browser.LatestSmsCodeAsync(phone) });
        Assert.NotNull(done.Callback);
        // Accounts:AnswerAuthorizeAfterSignIn: the SMS form's post itself answers the authorization with the code.
        Assert.Equal("/Account/Login/Sms", done.Response.RequestMessage!.RequestUri!.AbsolutePath);
        var idToken = await app.RedeemAsync(done.Callback!);
        Assert.Equal(["sms"], OidcClient.Amr(idToken));
        Assert.Equal("urn:identityhub:acr:sfa", idToken.GetProperty("acr").GetString());
    }

    [Fact]
    public async Task SmsSecondFactor_AfterPassword_IdTokenSaysPwdSmsMfa()
    {
        var (userName, phone) = await ConfirmedAccountAsync(twoStep: true);
        var app = await OidcClient.RegisterAsync(fixture.Server);
        using var browser = new AccountClient(fixture.Server);
        var login = await browser.GetAsync(app.AuthorizeUrl());
        var step = await browser.SubmitAsync(login, null, new() { ["Input.SignInName"] = userName, ["Input.Password"] = FactorsFixture.Password });
        Assert.Equal("/Account/Login/SecondFactor", step.Path);

        var sent = await browser.SubmitAsync(step, "SendSms", []);
        Assert.True(sent.Has("factor-sms"), sent.Body);
        var done = await browser.SubmitAsync(sent, "Verify", new() { ["Method"] = "Sms", ["Code"] = await browser.LatestSmsCodeAsync(phone) });
        Assert.NotNull(done.Callback);
        // Not after the first factor (the password's post went to this page), but after the last: its post answers with the code.
        Assert.Equal("/Account/Login/SecondFactor", done.Response.RequestMessage!.RequestUri!.AbsolutePath);
        var idToken = await app.RedeemAsync(done.Callback!);
        Assert.Equal(["pwd", "sms", "mfa"], OidcClient.Amr(idToken));
        Assert.Equal("urn:identityhub:acr:mfa", idToken.GetProperty("acr").GetString());
    }

    [Fact]
    public async Task SmsCode_AfterItsLifetime_RefusedAsExpired()
    {
        var (_, phone) = await ConfirmedAccountAsync();
        using var browser = new AccountClient(fixture.Server);
        var sent = await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = phone });
        var code = await browser.LatestSmsCodeAsync(phone);
        fixture.Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        var expired = await browser.SubmitAsync(sent, "Verify", new() { ["PhoneNumber"] = phone, ["Code"] = code });
        Assert.Null(expired.Callback);
        Assert.Equal("The code has expired. Please request a new one.", expired.Text("sms-error"));
    }

    [Fact]
    public async Task SmsCode_FiveWrongGuesses_RightCodeNoLongerWorks()
    {
        var (_, phone) = await ConfirmedAccountAsync();
        using var browser = new AccountClient(fixture.Server);
        var page = await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = phone });
        var code = await browser.LatestSmsCodeAsync(phone);
        var wrong = code == "000000" ? "000001" : "000000";
        for (var i = 0; i < 5; i++)
        {
            page = await browser.SubmitAsync(page, "Verify", new() { ["PhoneNumber"] = phone, ["Code"] = wrong });
        }

        var right = await browser.SubmitAsync(page, "Verify", new() { ["PhoneNumber"] = phone, ["Code"] = code });
        Assert.Null(right.Callback);
        Assert.Equal("Too many wrong tries: the code no longer works. Please request a new one.", right.Text("sms-error"));
    }

    [Fact]
    public async Task SmsSend_AgainWithinTheResendInterval_429WithRetryAfter()
    {
        var (_, phone) = await ConfirmedAccountAsync();
        using var browser = new AccountClient(fixture.Server);
        var first = await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = phone });
        Assert.Equal(HttpStatusCode.OK, first.Status);

        var again = await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = phone });
        Assert.Equal(HttpStatusCode.TooManyRequests, again.Status);
        var retryAfter = again.Response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 60);
        Assert.Equal(1, await browser.SmsCountAsync(phone) - 1);
    }

    [Fact]
    public async Task SmsSend_UnknownNumber_SameAnswerAndNothingSent()
    {
        using var browser = new AccountClient(fixture.Server);
        var (_, unusedPhone) = await fixture.CreateUserAsync();
        var unknown = "137" + unusedPhone[3..];
        var page = await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = unknown });
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.True(page.Has("sms-sent"));
        Assert.Equal(0, await browser.SmsCountAsync(unknown));
    }
}
