using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;

namespace IdentityHub.Tests.Sessions;

/// <summary>The citizen's session list and its end button (/Account/Sessions), and the administrators' session API.</summary>
public abstract partial class SessionProtocolTests
{
    [Fact]
    public async Task AccountSessions_TwoSignIns_ListsBothWithAppsAndMarksThisDevice()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var here = NewBrowser();
        var elsewhere = NewBrowser();
        var hereFlow = await Kit.CodeFlowAsync(here, client, user);
        var elsewhereFlow = await Kit.CodeFlowAsync(elsewhere, client, user);

        var page = await SessionsPageAsync(here);

        var sessions = SessionRows(page);
        Assert.Equal(2, sessions.Count);
        Assert.Equal("true", sessions[SessionsKit.Sid(hereFlow)]);
        Assert.Equal("false", sessions[SessionsKit.Sid(elsewhereFlow)]);
        Assert.Contains("会话测试应用 " + client.ClientId, page, StringComparison.Ordinal);
        // Place: the address and a coarse description (the tests run on loopback).
        Assert.Contains("127.0.0.1 · 本机", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AccountSessions_EndAnotherSession_ItsCookieRefusedAppToldRefreshTokenRevoked()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var here = NewBrowser();
        var lost = NewBrowser();
        await Kit.CodeFlowAsync(here, client, user);
        var lostFlow = await Kit.CodeFlowAsync(lost, client, user);

        using var response = await EndSessionAsync(here, SessionsKit.Sid(lostFlow));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/Account/Sessions?ended=true", response.Headers.Location?.OriginalString);
        Assert.Equal("login_required", (await SessionsKit.PromptNoneAsync(Kit, lost, client))["error"]);
        Assert.Equal("invalid_grant", (await Kit.RefreshAsync(client, lostFlow.Tokens.RefreshToken!)).Error);
        var token = await Receiver.WaitForTokenAsync(client.ClientId);
        Assert.Equal(SessionsKit.Sid(lostFlow), OidcKit.JwtPayload(token).GetProperty("sid").GetString());
        // This device stays signed in.
        Assert.False(string.IsNullOrEmpty((await SessionsKit.PromptNoneAsync(Kit, here, client))["code"]));
        Assert.Single(SessionRows(await SessionsPageAsync(here)));
    }

    [Fact]
    public async Task AccountSessions_EndThisSession_SignedOut()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var flow = await Kit.CodeFlowAsync(browser, client, user);

        using var response = await EndSessionAsync(browser, SessionsKit.Sid(flow));

        Assert.Equal("/Account/Logout?signedOut=true", response.Headers.Location?.OriginalString);
        Assert.Equal("login_required", (await SessionsKit.PromptNoneAsync(Kit, browser, client))["error"]);
    }

    [Fact]
    public async Task AccountSessions_SomeoneElsesSession_NotFoundAndKept()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var attacker = NewBrowser();
        var victim = NewBrowser();
        await Kit.CodeFlowAsync(attacker, client, await Kit.CreateUserAsync());
        var victimFlow = await Kit.CodeFlowAsync(victim, client, await Kit.CreateUserAsync());

        using var response = await EndSessionAsync(attacker, SessionsKit.Sid(victimFlow));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(string.IsNullOrEmpty((await SessionsKit.PromptNoneAsync(Kit, victim, client))["code"]));
    }

    [Fact]
    public async Task AdminApi_EndAllSessions_PlatformAdministratorEndsEverySessionOfTheAccount()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var first = NewBrowser();
        var second = NewBrowser();
        await Kit.CodeFlowAsync(first, client, user);
        var secondFlow = await Kit.CodeFlowAsync(second, client, user);
        using var admin = Server.CreateHttpClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());
        var listed = await admin.GetFromJsonAsync<JsonElement>($"/api/admin/users/{user.Id}/sessions");
        Assert.Equal(2, listed.GetProperty("sessions").GetArrayLength());

        using var response = await admin.DeleteAsync($"/api/admin/users/{user.Id}/sessions");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ended").GetInt32());
        Assert.Equal("login_required", (await SessionsKit.PromptNoneAsync(Kit, first, client))["error"]);
        Assert.Equal("login_required", (await SessionsKit.PromptNoneAsync(Kit, second, client))["error"]);
        Assert.Equal("invalid_grant", (await Kit.RefreshAsync(client, secondFlow.Tokens.RefreshToken!)).Error);
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>($"/api/admin/users/{user.Id}/sessions")).GetProperty("sessions").GetArrayLength());
        Assert.Contains("session.ended", await SessionAuditAsync(SessionsKit.Sid(secondFlow)));
    }

    [Fact]
    public async Task AdminApi_EndAllSessions_AuditorForbiddenAndUnknownAccountNotFound()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        await Kit.CodeFlowAsync(browser, client, user);
        using var auditor = await PersonClientAsync("auditor");
        using var admin = Server.CreateHttpClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());

        using var read = await auditor.GetAsync($"/api/admin/users/{user.Id}/sessions");
        using var end = await auditor.DeleteAsync($"/api/admin/users/{user.Id}/sessions");
        using var unknown = await admin.DeleteAsync("/api/admin/users/no-such-account/sessions");

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, end.StatusCode);
        Assert.Equal("application/problem+json", end.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.False(string.IsNullOrEmpty((await SessionsKit.PromptNoneAsync(Kit, browser, client))["code"]));
    }

    private async Task<string> SessionsPageAsync(BrowserlessSignIn browser)
    {
        using var http = Server.CreateHttpClient(cookies: browser.Cookies);
        using var response = await http.GetAsync("/Account/Sessions");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Posts the page's end button for <paramref name="sessionId"/>, with the page's antiforgery token.</summary>
    private async Task<HttpResponseMessage> EndSessionAsync(BrowserlessSignIn browser, string sessionId)
    {
        var page = await SessionsPageAsync(browser);
        using var http = Server.CreateHttpClient(cookies: browser.Cookies);
        return await http.PostAsync("/Account/Sessions?handler=End", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["sessionId"] = sessionId,
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page),
        }));
    }

    /// <summary>Session id to whether it is this device's ("true"/"false"), as the page lists them.</summary>
    private static Dictionary<string, string> SessionRows(string page) =>
        Regex.Matches(page, "data-session-id=\"([0-9a-f]+)\" data-current=\"(true|false)\"")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    /// <summary>A person with a registry role, signed in with the IdentityHub cookie (changes need the CSRF header, sent here).</summary>
    private Task<HttpClient> PersonClientAsync(string role) => Kit.Admin.SignedInPersonAsync(role);
}
