using System.Net;
using System.Text.RegularExpressions;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>/Account/History: a citizen's own sign-ins, apps and released claims; "this wasn't me"; nobody else's events.</summary>
public sealed partial class CitizenHistoryTests(AuditFixture fixture) : IClassFixture<AuditFixture>
{
    [Fact]
    public async Task History_AfterUsingADepartmentApp_ShowsTheSignInTheAppAndClaimNamesButNoValues()
    {
        var (department, clientId, secret) = await fixture.NewWebClientAsync();
        var citizen = await fixture.NewCitizenAsync();
        var browser = new BrowserlessSignIn(fixture.Server);
        await new OidcFlow(fixture.Server, browser).SignInAsync(clientId, secret, "openid profile phone", citizen.UserName, RegistryFixture.Password);

        var html = await PageAsync(browser.Cookies);

        Assert.Contains("部门 " + department, html, StringComparison.Ordinal);
        Assert.Contains("应用 " + clientId, html, StringComparison.Ordinal);
        Assert.Contains("data-claim=\"phone_number\"", html, StringComparison.Ordinal);
        Assert.Contains("data-claim=\"name\"", html, StringComparison.Ordinal);
        Assert.Contains("手机号", html, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", html, StringComparison.Ordinal);
        Assert.DoesNotContain(citizen.Mobile, html, StringComparison.Ordinal);
        Assert.DoesNotContain(citizen.DisplayName, html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_InEnglish_NamesTheClaimsInEnglish()
    {
        var (_, clientId, secret) = await fixture.NewWebClientAsync();
        var citizen = await fixture.NewCitizenAsync();
        var browser = new BrowserlessSignIn(fixture.Server);
        await new OidcFlow(fixture.Server, browser).SignInAsync(clientId, secret, "openid phone", citizen.UserName, RegistryFixture.Password);

        var html = await PageAsync(browser.Cookies, "/Account/History?culture=en");

        Assert.Contains("Sign-in and sharing history", html, StringComparison.Ordinal);
        Assert.Contains("Mobile number", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_AnotherCitizen_ShowsNoneOfTheirEvents()
    {
        var (_, clientId, secret) = await fixture.NewWebClientAsync();
        var a = await fixture.NewCitizenAsync();
        var b = await fixture.NewCitizenAsync();
        await new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server)).SignInAsync(clientId, secret, "openid phone", a.UserName, RegistryFixture.Password);
        var cookies = new CookieContainer();
        await fixture.SignInAsync(cookies, b.UserName, RegistryFixture.Password);

        var html = await PageAsync(cookies);

        Assert.DoesNotContain("应用 " + clientId, html, StringComparison.Ordinal);
        var shown = EventIds(html);
        Assert.NotEmpty(shown);
        var mine = (await fixture.EventsAsync("userId=" + b.Id)).Select(e => e.GetProperty("id").GetInt64()).ToHashSet();
        Assert.Subset(mine, shown.ToHashSet());
    }

    [Fact]
    public async Task NotMe_AnotherCitizensEvent_NotFoundAndNothingRecorded()
    {
        var a = await fixture.NewCitizenAsync();
        var b = await fixture.NewCitizenAsync();
        await fixture.SignInAsync(new CookieContainer(), a.UserName, RegistryFixture.Password);
        var theirs = Assert.Single(await fixture.EventsAsync($"userId={a.Id}&type=signin")).GetProperty("id").GetInt64();
        var cookies = new CookieContainer();
        await fixture.SignInAsync(cookies, b.UserName, RegistryFixture.Password);

        using var response = await PostNotMeAsync(cookies, theirs);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await fixture.EventsAsync($"userId={a.Id}&type=account.not_me_reported"));
        Assert.Empty(await fixture.EventsAsync($"userId={b.Id}&type=account.not_me_reported"));
    }

    [Fact]
    public async Task NotMe_OwnSignIn_SignsOutEverySessionAndRecordsAnAlert()
    {
        var citizen = await fixture.NewCitizenAsync();
        var (here, elsewhere) = (new CookieContainer(), new CookieContainer());
        await fixture.SignInAsync(here, citizen.UserName, RegistryFixture.Password);
        await fixture.SignInAsync(elsewhere, citizen.UserName, RegistryFixture.Password, ip: "10.66.66.66");
        var reported = EventIds(await PageAsync(here)).First();

        using var response = await PostNotMeAsync(here, reported);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("id=\"not-me-reported\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var other = fixture.Server.CreateHttpClient(cookies: elsewhere);
        using var afterwards = await other.GetAsync("/Account/History");
        Assert.Equal(HttpStatusCode.Redirect, afterwards.StatusCode);
        Assert.StartsWith("/Account/Login", afterwards.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        var alert = Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=account.not_me_reported"));
        Assert.Contains($"\"reportedEventId\":{reported}", alert.GetProperty("data").GetString(), StringComparison.Ordinal);
    }

    private async Task<string> PageAsync(CookieContainer cookies, string path = "/Account/History")
    {
        using var http = fixture.Server.CreateHttpClient(cookies: cookies);
        using var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<HttpResponseMessage> PostNotMeAsync(CookieContainer cookies, long eventId)
    {
        var page = await PageAsync(cookies);
        using var http = fixture.Server.CreateHttpClient(cookies: cookies);
        return await http.PostAsync("/Account/History?handler=NotMe", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["eventId"] = eventId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page),
        }));
    }

    private static List<long> EventIds(string html) => EventPattern().Matches(html).Select(m => long.Parse(m.Groups[1].Value)).ToList();

    [GeneratedRegex("data-event=\"(\\d+)\"")]
    private static partial Regex EventPattern();
}
