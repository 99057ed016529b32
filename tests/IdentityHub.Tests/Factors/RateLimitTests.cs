using System.Net;

namespace IdentityHub.Tests.Factors;

/// <summary>A server with small per-IP and per-account limits.</summary>
public sealed class TightLimitsFixture : FactorsFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["RateLimits:SmsPerIp:PermitLimit"] = "2";
        settings["RateLimits:SmsPerIp:Window"] = "01:00:00";
        settings["RateLimits:SignInPerAccount:PermitLimit"] = "3";
        settings["RateLimits:SignInPerAccount:Window"] = "01:00:00";
    }
}

public sealed class RateLimitTests(TightLimitsFixture fixture) : IClassFixture<TightLimitsFixture>
{
    [Fact]
    public async Task SmsSend_OverThePerIpLimit_429WithRetryAfter()
    {
        using var browser = new AccountClient(fixture.Server);
        for (var i = 0; i < 2; i++)
        {
            var (_, phone) = await fixture.CreateUserAsync();
            Assert.Equal(HttpStatusCode.OK, (await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = phone })).Status);
        }

        var (_, third) = await fixture.CreateUserAsync();
        var refused = await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = third });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        Assert.NotNull(refused.Response.Headers.RetryAfter?.Delta);
        Assert.Equal(0, await browser.SmsCountAsync(third));
    }

    [Fact]
    public async Task SignIn_OverThePerAccountLimit_429WithRetryAfter()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        using var browser = new AccountClient(fixture.Server);
        for (var i = 0; i < 3; i++)
        {
            var wrong = await browser.PostAsync("/Account/Login", null, new() { ["Input.SignInName"] = userName, ["Input.Password"] = "wrong password " + i });
            Assert.Equal(HttpStatusCode.OK, wrong.Status);
        }

        // Even the right password waits: the limit is per account name, from any address.
        using var other = new AccountClient(fixture.Server);
        var limited = await other.SignInAsync(userName, FactorsFixture.Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        Assert.NotNull(limited.Response.Headers.RetryAfter?.Delta);
        Assert.StartsWith("Too many attempts.", limited.Text("login-error"));
    }
}
