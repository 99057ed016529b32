using System.Net;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// Each identity event, written by the real flow that causes it, over HTTP: the sign-in page, the code flow,
/// refresh, revocation, client credentials, userinfo, logout, the admin API. Run on SQLite and PostgreSQL.
/// </summary>
public abstract class IdentityEventTests(AuditFixture fixture)
{
    [Fact]
    public async Task SignIn_WrongPassword_RecordsFailureWithReasonIpDeviceAndCorrelation()
    {
        var citizen = await fixture.NewCitizenAsync();
        var correlation = "corr-" + Guid.NewGuid().ToString("N");

        var status = await fixture.SignInAsync(new CookieContainer(), citizen.UserName, "Wrong-Passw0rd", "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0",
            "10.20.30.40", correlation);

        Assert.Equal(HttpStatusCode.OK, status);
        var failed = Assert.Single(await fixture.EventsAsync("userId=" + citizen.Id), e => Type(e) == "signin.failed");
        Assert.Equal("failure", failed.GetProperty("outcome").GetString());
        Assert.Equal("invalid_password", failed.GetProperty("reason").GetString());
        Assert.Equal(citizen.Id, failed.GetProperty("subjectId").GetString());
        Assert.Equal("10.20.30.40", failed.GetProperty("ipAddress").GetString());
        Assert.Equal("Mozilla/5.0 (Windows NT 10.0) Chrome/120.0", failed.GetProperty("userAgent").GetString());
        Assert.Equal(correlation, failed.GetProperty("correlationId").GetString());
    }

    [Fact]
    public async Task SignIn_RepeatedWrongPasswords_RecordsTheLockout()
    {
        var citizen = await fixture.NewCitizenAsync();
        for (var i = 0; i < 5; i++)
        {
            await fixture.SignInAsync(new CookieContainer(), citizen.UserName, "Wrong-Passw0rd");
        }

        var reasons = (await fixture.EventsAsync($"userId={citizen.Id}&type=signin.failed")).Select(e => e.GetProperty("reason").GetString()).ToList();

        Assert.Equal(5, reasons.Count);
        Assert.Equal("locked_out", reasons[0]);
        Assert.All(reasons.Skip(1), r => Assert.Equal("invalid_password", r));
    }

    [Fact]
    public async Task SignIn_UnknownAccount_RecordsFailureWithoutTheTypedName()
    {
        var typed = "nobody-" + Guid.NewGuid().ToString("N");
        var ip = UniqueIp();

        await fixture.SignInAsync(new CookieContainer(), typed, "Some-Passw0rd", ip: ip);

        var failed = Assert.Single(await fixture.EventsAsync("type=signin.failed&ip=" + ip));
        Assert.Equal("unknown_account", failed.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("subjectId").ValueKind);
        Assert.DoesNotContain(typed, failed.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_Succeeded_RecordsTheNewSession()
    {
        var citizen = await fixture.NewCitizenAsync();

        var status = await fixture.SignInAsync(new CookieContainer(), citizen.Mobile, RegistryFixture.Password);

        Assert.Equal(HttpStatusCode.Redirect, status);
        var succeeded = Assert.Single(await fixture.EventsAsync("userId=" + citizen.Id), e => Type(e) == "signin.succeeded");
        Assert.Equal("success", succeeded.GetProperty("outcome").GetString());
        Assert.Matches("^[0-9a-f]{32}$", succeeded.GetProperty("sessionId").GetString());
        Assert.Contains("pwd", succeeded.GetProperty("data").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CodeFlow_TokenAndUserInfo_RecordTokensAndClaimNamesButNeverValues()
    {
        var (department, clientId, secret) = await fixture.NewWebClientAsync();
        var citizen = await fixture.NewCitizenAsync();

        await new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server))
            .SignInAsync(clientId, secret, "openid profile phone offline_access", citizen.UserName, RegistryFixture.Password);

        var events = await fixture.EventsAsync("client=" + clientId);
        var signIn = Assert.Single(events, e => Type(e) == "signin.succeeded");
        Assert.Equal(department, signIn.GetProperty("departmentCode").GetString());
        var issued = Assert.Single(events, e => Type(e) == "token.issued");
        Assert.Equal(citizen.Id, issued.GetProperty("subjectId").GetString());
        Assert.Equal(department, issued.GetProperty("departmentCode").GetString());
        using var data = JsonDocument.Parse(issued.GetProperty("data").GetString()!);
        Assert.Equal("authorization_code", data.RootElement.GetProperty("grantType").GetString());
        Assert.Equal(["access_token", "id_token", "refresh_token"], data.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
        var released = events.Where(e => Type(e) == "claims.released").ToList();
        Assert.Equal(2, released.Count);
        Assert.All(released, r =>
        {
            Assert.Equal(citizen.Id, r.GetProperty("subjectId").GetString());
            Assert.Contains("\"phone_number\"", r.GetProperty("data").GetString(), StringComparison.Ordinal);
            Assert.Contains("\"name\"", r.GetProperty("data").GetString(), StringComparison.Ordinal);
        });
        Assert.Contains(released, r => r.GetProperty("data").GetString()!.Contains("\"via\":\"id_token\"", StringComparison.Ordinal));
        Assert.Contains(released, r => r.GetProperty("data").GetString()!.Contains("\"via\":\"userinfo\"", StringComparison.Ordinal));
        var all = string.Join("\n", events.Select(e => e.GetRawText()));
        Assert.DoesNotContain(citizen.Mobile, all, StringComparison.Ordinal);
        Assert.DoesNotContain(citizen.DisplayName, all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefreshThenRevoke_RecordTokenRefreshedAndRevokedForThePerson()
    {
        var (_, clientId, secret) = await fixture.NewWebClientAsync();
        var citizen = await fixture.NewCitizenAsync();
        var flow = await new OidcFlow(fixture.Server, new BrowserlessSignIn(fixture.Server))
            .SignInAsync(clientId, secret, "openid offline_access", citizen.UserName, RegistryFixture.Password);
        using var http = fixture.Server.CreateHttpClient();

        var refreshed = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = fixture.Server.Authority + "/connect/token", ClientId = clientId, ClientSecret = secret, RefreshToken = flow.Tokens.RefreshToken!,
        });
        Assert.False(refreshed.IsError, refreshed.Error);
        var revoked = await http.RevokeTokenAsync(new TokenRevocationRequest
        {
            Address = fixture.Server.Authority + "/connect/revoke", ClientId = clientId, ClientSecret = secret, Token = refreshed.RefreshToken!,
            TokenTypeHint = "refresh_token",
        });
        Assert.False(revoked.IsError, revoked.Error);

        var events = await fixture.EventsAsync("client=" + clientId + "&type=token");
        Assert.Equal(citizen.Id, Assert.Single(events, e => Type(e) == "token.refreshed").GetProperty("subjectId").GetString());
        var revocation = Assert.Single(events, e => Type(e) == "token.revoked");
        Assert.Equal(citizen.Id, revocation.GetProperty("subjectId").GetString());
        Assert.Contains("refresh_token", revocation.GetProperty("data").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientCredentials_RecordTokenIssuedForTheClientAndRefusalWithItsError()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("m");
        var secret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!;
        using var http = fixture.Server.CreateHttpClient();
        var address = fixture.Server.Authority + "/connect/token";

        var ok = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest { Address = address, ClientId = clientId, ClientSecret = secret });
        var refused = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest { Address = address, ClientId = clientId, ClientSecret = "wrong" });

        Assert.False(ok.IsError, ok.Error);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.HttpStatusCode);
        var events = await fixture.EventsAsync("client=" + clientId);
        var issued = Assert.Single(events, e => Type(e) == "token.issued");
        Assert.Equal("client", issued.GetProperty("actorKind").GetString());
        Assert.Equal(JsonValueKind.Null, issued.GetProperty("subjectId").ValueKind);
        Assert.Equal(department, issued.GetProperty("departmentCode").GetString());
        var failed = Assert.Single(events, e => Type(e) == "token.failed");
        Assert.Equal("invalid_client", failed.GetProperty("reason").GetString());
    }

    /// <summary>
    /// The client_credentials fast path (Oidc/Handlers/ClientCredentialsFastPath) writes the token.issued event the normal
    /// pipeline writes: a clean request (fast path) and one with a parameter OpenIddict ignores (normal path) leave two
    /// events that differ only in their own identity (id, time, sequence, chain, request).
    /// </summary>
    [Fact]
    public async Task ClientCredentials_FastAndNormalPath_RecordTheSameTokenIssued()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("m");
        var secret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!;
        using var http = fixture.Server.CreateHttpClient();
        var address = fixture.Server.Authority + "/connect/token";

        var fast = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest { Address = address, ClientId = clientId, ClientSecret = secret });
        var normal = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = address, ClientId = clientId, ClientSecret = secret, Parameters = { { "x_ignored", "1" } },
        });

        Assert.False(fast.IsError, fast.Error);
        Assert.False(normal.IsError, normal.Error);
        var issued = (await fixture.EventsAsync("client=" + clientId)).Where(e => Type(e) == "token.issued").ToList();
        Assert.Equal(2, issued.Count);
        string[] own = ["id", "occurredAtUtc", "correlationId", "sequence", "hash"];
        var shapes = issued.Select(e => string.Join("\n", e.EnumerateObject().Where(p => !own.Contains(p.Name)).Select(p => p.Name + "=" + p.Value.GetRawText())))
            .ToList();
        Assert.Equal(shapes[0], shapes[1]);
        Assert.Contains("\"grantType\":\"client_credentials\"", issued[0].GetProperty("data").GetString(), StringComparison.Ordinal);
        Assert.Equal(department, issued[0].GetProperty("departmentCode").GetString());
    }

    [Fact]
    public async Task EndSession_WithIdTokenHint_RecordsSignOutForTheClient()
    {
        var (_, clientId, secret) = await fixture.NewWebClientAsync();
        var citizen = await fixture.NewCitizenAsync();
        var browser = new BrowserlessSignIn(fixture.Server);
        var flow = await new OidcFlow(fixture.Server, browser).SignInAsync(clientId, secret, "openid", citizen.UserName, RegistryFixture.Password);
        using var http = fixture.Server.CreateHttpClient(cookies: browser.Cookies);

        using var response = await http.GetAsync("/connect/endsession?id_token_hint=" + flow.Tokens.IdentityToken);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var signOut = Assert.Single(await fixture.EventsAsync("userId=" + citizen.Id + "&type=signout"));
        Assert.Equal(clientId, signOut.GetProperty("clientId").GetString());
        Assert.Contains("\"initiatedBy\":\"client\"", signOut.GetProperty("data").GetString(), StringComparison.Ordinal);
        var signIn = Assert.Single(await fixture.EventsAsync("userId=" + citizen.Id + "&type=signin.succeeded"));
        Assert.Equal(signIn.GetProperty("sessionId").GetString(), signOut.GetProperty("sessionId").GetString());
    }

    [Fact]
    public async Task LogoutPage_Post_RecordsSignOutByThePerson()
    {
        var citizen = await fixture.NewCitizenAsync();
        var cookies = new CookieContainer();
        await fixture.SignInAsync(cookies, citizen.UserName, RegistryFixture.Password);
        using var http = fixture.Server.CreateHttpClient(cookies: cookies);
        var page = await http.GetStringAsync("/Account/Logout");

        using var response = await http.PostAsync("/Account/Logout",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page) }));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var signOut = Assert.Single(await fixture.EventsAsync("userId=" + citizen.Id + "&type=signout"));
        Assert.Contains("\"initiatedBy\":\"person\"", signOut.GetProperty("data").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminApi_CreateUser_RecordsAccountCreatedByTheAdministrator()
    {
        var citizen = await fixture.NewCitizenAsync();

        var created = Assert.Single(await fixture.EventsAsync("userId=" + citizen.Id + "&type=account.created"));

        Assert.Equal("client", created.GetProperty("actorKind").GetString());
        Assert.Equal(IdentityHubServer.AdminClientId, created.GetProperty("actorId").GetString());
        Assert.DoesNotContain(citizen.Mobile, created.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditorSearch_IsItselfRecordedWithTheAuditor()
    {
        var marker = RegistryFixture.Unique("marker");
        await fixture.EventsAsync("client=" + marker);

        var queries = await fixture.EventsAsync("type=audit.query");

        var mine = Assert.Single(queries, q => q.GetProperty("data").GetString()!.Contains(marker, StringComparison.Ordinal));
        Assert.Equal("user", mine.GetProperty("actorKind").GetString());
    }

    [Fact]
    public async Task Chain_WhileOtherTestsWrite_VerifiesAndEveryRowIsChained()
    {
        var citizen = await fixture.NewCitizenAsync();
        await fixture.SignInAsync(new CookieContainer(), citizen.UserName, "Wrong-Passw0rd");

        var report = await fixture.VerifyAsync();

        Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());
        Assert.Equal(0, report.GetProperty("legacyRows").GetInt64());
        Assert.All(await fixture.EventsAsync("userId=" + citizen.Id), e =>
        {
            Assert.Equal(AuditFixture.NodeId, e.GetProperty("nodeId").GetString());
            Assert.Matches("^[0-9a-f]{64}$", e.GetProperty("hash").GetString());
        });
    }

    /// <summary>
    /// A refused token request whose client_id is longer than the audit row's ClientId column (200): one of 300 letters,
    /// and one of 190 letters and 70 trailing spaces (PostgreSQL stores an over-long varchar whose excess is only spaces
    /// by cutting it silently, SQL standard, so a row sealed over the whole value would no longer verify). Both are
    /// refused as invalid_client (RFC 6749 section 5.2), each recorded as token.failed with its client id cut to the
    /// column before sealing, and the chain still verifies. Also a client_id with a NUL in a Basic header (which PostgreSQL
    /// refuses in text: invalid_client, recorded with U+FFFD), a NUL in the form body (400 invalid_request) and a grant_type of 5,000 characters (unsupported_grant_type, recorded cut).
    /// </summary>
    [Fact]
    public async Task TokenRequest_OverLongClientId_RecordedCutToTheColumn_ChainVerifies()
    {
        var ip = UniqueIp();
        using var http = fixture.Server.CreateHttpClient();
        http.DefaultRequestHeaders.Add("X-Forwarded-For", ip);
        var letters = new string('y', 300);
        var spaced = new string('z', 190) + new string(' ', 70);
        var withNul = "nul\0" + Guid.NewGuid().ToString("N");
        foreach (var clientId in new[] { letters, spaced, withNul })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
            {
                Content = new FormUrlEncodedContent(clientId == withNul
                    ? new Dictionary<string, string> { ["grant_type"] = "client_credentials" }
                    : new Dictionary<string, string>
                    {
                        // A grant type of 5,000 characters is recorded cut to 64.
                        ["grant_type"] = clientId == letters ? new string('g', 5_000) : "client_credentials",
                        ["client_id"] = clientId,
                        ["client_secret"] = "not-the-secret",
                    }),
            };
            if (clientId == withNul)
            {
                // client_secret_basic: the id form-encoded inside the header (RFC 6749 section 2.3.1), %00 a NUL once decoded.
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
                    Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Uri.EscapeDataString(clientId) + ":not-the-secret")));
            }

            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized, $"{response.StatusCode} {body}");
            Assert.Equal(clientId == letters ? "unsupported_grant_type" : "invalid_client",
                JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        }

        var failed = await fixture.EventsAsync("type=token.failed&ip=" + ip);
        Assert.Equal(
            new[] { letters[..200], spaced[..200], withNul.Replace('\0', '\uFFFD') }.Order(StringComparer.Ordinal),
            failed.Select(e => e.GetProperty("clientId").GetString()!).Order(StringComparer.Ordinal));
        var longGrant = Assert.Single(failed, e => e.GetProperty("clientId").GetString() == letters[..200]);
        Assert.Contains("\"" + new string('g', 64) + "\"", longGrant.GetProperty("data").GetString());
        var report = await fixture.VerifyAsync();
        Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());

        // A NUL in the form body itself: ASP.NET Core refuses to read the form; 400 invalid_request, not a 500.
        using var nulForm = await http.PostAsync("/connect/token",
            new StringContent("grant_type=client_credentials&client_id=a%00b&client_secret=x", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
        var nulBody = await nulForm.Content.ReadAsStringAsync();
        Assert.True(nulForm.StatusCode == HttpStatusCode.BadRequest, $"{nulForm.StatusCode} {nulBody}");
        Assert.Equal("invalid_request", JsonDocument.Parse(nulBody).RootElement.GetProperty("error").GetString());
    }

    internal static string Type(JsonElement e) => e.GetProperty("eventType").GetString()!;

    internal static string UniqueIp() => $"10.{Random.Shared.Next(100, 250)}.{Random.Shared.Next(0, 250)}.{Random.Shared.Next(1, 250)}";
}

public sealed class IdentityEventTests_Sqlite(AuditFixture fixture) : IdentityEventTests(fixture), IClassFixture<AuditFixture>;

public sealed class IdentityEventTests_Postgres(PostgresAuditFixture fixture) : IdentityEventTests(fixture), IClassFixture<PostgresAuditFixture>;
