using System.Globalization;
using System.Net;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Factors;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Registry;
using IdentityHub.Tests.Sessions;
using OtpNet;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// The audit trail where it meets the SSO sessions and the second factors (issues 5 and 6): "this wasn't me" ends
/// every session (apps told, tokens revoked); session events belong to the person; SMS and second-factor failures
/// are signin.failed with a reason. Over HTTP, on SQLite and PostgreSQL.
/// </summary>
public abstract class MergedFlowsAuditTests(AuditFixture fixture)
{
    [Fact]
    public async Task NotMe_WithASessionAtABackChannelApp_EndsItRevokesItsRefreshTokenAndTellsTheApp()
    {
        await using var receiver = await LogoutReceiver.StartAsync();
        var department = await fixture.CreateDepartmentAsync();
        var clientId = AuditFixture.Unique("app");
        var secret = await fixture.RegisterAsync(new
        {
            clientId,
            departmentCode = department,
            displayName = "应用 " + clientId,
            kind = "web",
            redirectUris = new[] { OidcFlow.RedirectUri(clientId) },
            scopes = new[] { "openid", "profile", "offline_access" },
            backChannelLogoutUri = receiver.UriFor(clientId),
        });
        var citizen = await fixture.NewCitizenAsync();
        var browser = new BrowserlessSignIn(fixture.Server);
        var signedIn = await new OidcFlow(fixture.Server, browser).SignInAsync(clientId, secret!, "openid profile offline_access", citizen.UserName,
            RegistryFixture.Password);
        var sid = signedIn.IdToken.GetClaim("sid").Value;
        var signIn = Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=signin.succeeded")).GetProperty("id").GetInt64();

        using (var reported = await PostNotMeAsync(browser.Cookies, signIn))
        {
            Assert.Equal(HttpStatusCode.OK, reported.StatusCode);
        }

        // The refresh token of the session no longer works (issue 6: ending a session revokes its refresh tokens).
        using var http = fixture.Server.CreateHttpClient();
        var refresh = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = fixture.Server.Authority + "/connect/token", ClientId = clientId, ClientSecret = secret!, RefreshToken = signedIn.Tokens.RefreshToken!,
        });
        Assert.Equal("invalid_grant", refresh.Error);

        // The app is told by back-channel logout, for this session.
        var logoutToken = await receiver.WaitForTokenAsync(clientId);
        Assert.Equal(sid, JsonDocument.Parse(Base64UrlDecode(logoutToken.Split('.')[1])).RootElement.GetProperty("sid").GetString());

        var ended = Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=session.ended"));
        Assert.Equal(sid, ended.GetProperty("sessionId").GetString());
        Assert.Equal("citizen", JsonDocument.Parse(ended.GetProperty("after").GetString()!).RootElement.GetProperty("reason").GetString());
        var alert = Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=account.not_me_reported"));
        Assert.Equal(1, JsonDocument.Parse(alert.GetProperty("data").GetString()!).RootElement.GetProperty("sessionsEnded").GetInt32());
    }

    [Fact]
    public async Task SessionEvents_StartEndAndBackChannelNotice_CarryThePersonSessionAndApp()
    {
        await using var receiver = await LogoutReceiver.StartAsync();
        var department = await fixture.CreateDepartmentAsync();
        var clientId = AuditFixture.Unique("app");
        var secret = await fixture.RegisterAsync(new
        {
            clientId,
            departmentCode = department,
            displayName = "应用 " + clientId,
            kind = "web",
            redirectUris = new[] { OidcFlow.RedirectUri(clientId) },
            scopes = new[] { "openid", "profile" },
            backChannelLogoutUri = receiver.UriFor(clientId),
        });
        var citizen = await fixture.NewCitizenAsync();
        var browser = new BrowserlessSignIn(fixture.Server);
        var signedIn = await new OidcFlow(fixture.Server, browser).SignInAsync(clientId, secret!, "openid profile", citizen.UserName, RegistryFixture.Password);
        var sid = signedIn.IdToken.GetClaim("sid").Value;

        // Signing out at IdentityHub ends the session; the app acknowledges its notice.
        await PostLogoutAsync(browser.Cookies);
        await receiver.WaitForTokenAsync(clientId);
        List<JsonElement> events = [];
        await Poll.UntilAsync(async () =>
        {
            events = await fixture.EventsAsync($"userId={citizen.Id}&type=session");
            return events.Any(e => e.GetProperty("eventType").GetString() == "session.logout_notified");
        }, "the session.logout_notified event in the person's history");

        Assert.Equal(["session.logout_notified", "session.ended", "session.started"], events.Select(e => e.GetProperty("eventType").GetString()));
        Assert.All(events, e =>
        {
            Assert.Equal(citizen.Id, e.GetProperty("subjectId").GetString());
            Assert.Equal(sid, e.GetProperty("sessionId").GetString());
            Assert.Equal(sid, e.GetProperty("targetId").GetString());
        });
        var notified = events[0];
        Assert.Equal(clientId, notified.GetProperty("clientId").GetString());
        Assert.Equal(department, notified.GetProperty("departmentCode").GetString());
        Assert.Equal("system", notified.GetProperty("actorKind").GetString());
        // And by the app: the notice is in the app's history too.
        Assert.Contains(await fixture.EventsAsync($"client={clientId}&type=session"), e => e.GetProperty("id").GetInt64() == notified.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task SmsSignIn_WrongCode_RecordsSignInFailedWithReasonMethodAndPerson()
    {
        var citizen = await fixture.NewCitizenAsync();
        await new AuditDatabase(fixture.Server.Database).ExecuteAsync(
            "UPDATE \"AspNetUsers\" SET \"PhoneNumberConfirmed\" = @t WHERE \"Id\" = @id", ("@t", true), ("@id", citizen.Id));
        using var browser = new AccountClient(fixture.Server);
        var sent = await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = citizen.Mobile });
        Assert.True(sent.Has("sms-sent"), sent.Body);
        var code = await browser.LatestSmsCodeAsync(citizen.Mobile);
        var wrong = code == "000000" ? "000001" : "000000";

        var refused = await browser.SubmitAsync(sent, "Verify", new() { ["PhoneNumber"] = citizen.Mobile, ["Code"] = wrong });

        Assert.Null(refused.Callback);
        Assert.True(refused.Has("sms-error"), refused.Body);
        var failed = Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=signin.failed"));
        Assert.Equal("invalid_code", failed.GetProperty("reason").GetString());
        Assert.Equal("failure", failed.GetProperty("outcome").GetString());
        Assert.Equal("sms", JsonDocument.Parse(failed.GetProperty("data").GetString()!).RootElement.GetProperty("method").GetString());
        Assert.DoesNotContain(citizen.Mobile, failed.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, failed.GetProperty("data").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmsSignIn_NumberOfNoAccount_RecordsUnknownAccountWithoutTheNumber()
    {
        var number = UniqueNames.Mobile();
        using var browser = new AccountClient(fixture.Server);
        var sent = await browser.PostAsync("/Account/Login/Sms", "Send", new() { ["PhoneNumber"] = number });
        var before = (await fixture.EventsAsync("type=signin.failed")).Select(e => e.GetProperty("id").GetInt64()).DefaultIfEmpty(0).Max();

        var refused = await browser.SubmitAsync(sent, "Verify", new() { ["PhoneNumber"] = number, ["Code"] = "123456" });

        Assert.True(refused.Has("sms-error"), refused.Body);
        // The tests of a class run one after another on their own server: the one new failure is this one.
        var failed = Assert.Single(await fixture.EventsAsync("type=signin.failed"), e => e.GetProperty("id").GetInt64() > before);
        Assert.Equal("invalid_code", failed.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("subjectId").ValueKind);
        Assert.Equal("sms", JsonDocument.Parse(failed.GetProperty("data").GetString()!).RootElement.GetProperty("method").GetString());
        Assert.DoesNotContain(number, failed.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondFactor_WrongAuthenticatorCode_RecordsSignInFailedWithReasonAndMethod()
    {
        var citizen = await fixture.NewCitizenAsync();
        using (var setup = new AccountClient(fixture.Server))
        {
            await setup.SignInAsync(citizen.UserName, RegistryFixture.Password);
            var page = await setup.GetAsync("/Account/Manage/Authenticator");
            var secret = Base32Encoding.ToBytes(page.Text("totp-secret")!.Replace(" ", "", StringComparison.Ordinal));
            page = await setup.SubmitAsync(page, "Confirm", new() { ["Code"] = new Totp(secret).ComputeTotp(DateTime.UtcNow) });
            Assert.True(page.Has("totp-enabled"), page.Body);
        }

        using var browser = new AccountClient(fixture.Server);
        var step = await browser.SignInAsync(citizen.UserName, RegistryFixture.Password);
        Assert.Equal("/Account/Login/SecondFactor", step.Path);

        var refused = await browser.SubmitAsync(step, "Verify", new() { ["Method"] = "Totp", ["Code"] = "12345" });

        Assert.Equal("/Account/Login/SecondFactor", refused.Path);
        var failed = Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=signin.failed"));
        Assert.Equal("invalid_code", failed.GetProperty("reason").GetString());
        using var data = JsonDocument.Parse(failed.GetProperty("data").GetString()!);
        Assert.Equal("totp", data.RootElement.GetProperty("method").GetString());
        Assert.False(data.RootElement.GetProperty("stepUp").GetBoolean());
        // The password was right, the factor wrong: no success beyond the set-up's own sign-in.
        Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=signin.succeeded"));
    }

    private async Task<HttpResponseMessage> PostNotMeAsync(CookieContainer cookies, long eventId)
    {
        using var http = fixture.Server.CreateHttpClient(cookies: cookies);
        var page = await http.GetStringAsync("/Account/History");
        return await http.PostAsync("/Account/History?handler=NotMe", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["eventId"] = eventId.ToString(CultureInfo.InvariantCulture),
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page),
        }));
    }

    private async Task PostLogoutAsync(CookieContainer cookies)
    {
        using var http = fixture.Server.CreateHttpClient(cookies: cookies);
        var page = await http.GetStringAsync("/Account/Logout");
        using var response = await http.PostAsync("/Account/Logout", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page),
        }));
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Redirect, response.StatusCode.ToString());
    }

    private static string Base64UrlDecode(string value)
    {
        var s = value.Replace('-', '+').Replace('_', '/');
        return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(s + new string('=', (4 - s.Length % 4) % 4)));
    }
}

public sealed class MergedFlowsAuditTests_Sqlite(AuditFixture fixture) : MergedFlowsAuditTests(fixture), IClassFixture<AuditFixture>;

public sealed class MergedFlowsAuditTests_Postgres(PostgresAuditFixture fixture) : MergedFlowsAuditTests(fixture), IClassFixture<PostgresAuditFixture>;
