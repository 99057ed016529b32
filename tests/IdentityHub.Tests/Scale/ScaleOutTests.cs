using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Web;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;
using IdentityHub.Tests.Sessions;
using Microsoft.IdentityModel.JsonWebTokens;
using Npgsql;
using StackExchange.Redis;

namespace IdentityHub.Tests.Scale;

/// <summary>
/// Two stateless nodes behind one (simulated) load balancer: a browser's cookie jar shared by both (one host name), a
/// department app that talks to whichever node answers. Real PostgreSQL, real Redis, two server processes.
/// </summary>
public sealed partial class ScaleOutTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private const string Department = "scale";
    private const string Password = "Correct-Horse-42";

    private sealed record App(string ClientId, string Secret, string RedirectUri);

    [Fact]
    public async Task SignInAtA_SsoCookieRefreshTokenAndAccessTokenHonouredAtB()
    {
        var app = await RegisterWebAppAsync();
        var user = await CreateUserAsync();
        var cookies = new CookieContainer();

        var first = await CodeFlowAsync(cluster.A, cookies, app, user);

        // Node B opens A's sign-in cookie (shared Data Protection key ring) and finds its SSO session: no page.
        var second = await CodeFlowAsync(cluster.B, cookies, app, null, prompt: "none");
        Assert.Equal(new JsonWebToken(first.IdentityToken).GetClaim("sid").Value, new JsonWebToken(second.IdentityToken).GetClaim("sid").Value);

        using var http = cluster.B.Client();
        var refreshed = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = cluster.B.Url("connect/token"),
            ClientId = app.ClientId,
            ClientSecret = app.Secret,
            RefreshToken = first.RefreshToken!,
        });
        Assert.False(refreshed.IsError, refreshed.Error + " " + refreshed.ErrorDescription);

        var userInfo = await http.GetUserInfoAsync(new UserInfoRequest { Address = cluster.B.Url("connect/userinfo"), Token = first.AccessToken });
        Assert.False(userInfo.IsError, userInfo.Error);
    }

    [Fact]
    public async Task TokensRevokedAtA_InactiveAtBIntrospection_AndSessionEndedAtA_RefusedAtB()
    {
        var app = await RegisterWebAppAsync();
        var user = await CreateUserAsync();
        var cookies = new CookieContainer();
        var tokens = await CodeFlowAsync(cluster.A, cookies, app, user);
        Assert.True(await ActiveAtAsync(cluster.B, app, tokens.RefreshToken!));
        Assert.True(await ActiveAtAsync(cluster.B, app, tokens.AccessToken!));

        using (var http = cluster.A.Client())
        {
            foreach (var token in new[] { tokens.RefreshToken!, tokens.AccessToken! })
            {
                var revoked = await http.RevokeTokenAsync(new TokenRevocationRequest
                {
                    Address = cluster.A.Url("connect/revoke"),
                    ClientId = app.ClientId,
                    ClientSecret = app.Secret,
                    Token = token,
                });
                Assert.False(revoked.IsError, revoked.Error);
            }
        }

        Assert.False(await ActiveAtAsync(cluster.B, app, tokens.RefreshToken!));
        // The access token has no entry: B learns of its revocation from the "access-token-revocations" signal
        // (Oidc:RevocationRefreshInterval is an hour here), then reads the row A wrote.
        await Poll.UntilAsync(async () => !await ActiveAtAsync(cluster.B, app, tokens.AccessToken!), "B to refuse the access token revoked at A");

        // The SSO session is cached in Redis for the per-request cookie check: B has just used it (prompt=none above
        // warmed it); ending it at A must reach B's next request.
        var warm = await AuthorizeAsync(cluster.B, cookies, app, Pkce.Create(), null, "none");
        Assert.Contains("code=", warm.Query);
        var second = await CodeFlowAsync(cluster.B, cookies, app, null, prompt: "none");
        Assert.True(await ActiveAtAsync(cluster.B, app, second.AccessToken!));
        using (var admin = await cluster.A.AdminAsync())
        {
            using var ended = await admin.DeleteAsync($"/api/admin/users/{user.Id}/sessions");
            Assert.True(ended.IsSuccessStatusCode, await ended.Content.ReadAsStringAsync());
        }

        var refused = await AuthorizeAsync(cluster.B, cookies, app, Pkce.Create(), null, "none");
        Assert.Equal("login_required", HttpUtility.ParseQueryString(refused.Query)["error"]);
        // The access tokens of the ended session: refused at B's userinfo and introspection once the signal has arrived.
        await Poll.UntilAsync(async () =>
        {
            using var http = cluster.B.Client();
            var userInfo = await http.GetUserInfoAsync(new UserInfoRequest { Address = cluster.B.Url("connect/userinfo"), Token = second.AccessToken });
            return userInfo.HttpStatusCode == System.Net.HttpStatusCode.Unauthorized;
        }, "B to refuse the access token of the session ended at A");
        Assert.False(await ActiveAtAsync(cluster.B, app, second.AccessToken!));
    }

    [Fact]
    public async Task ClientDisabledAtA_RefusedAtBPromptly()
    {
        var (clientId, secret) = await RegisterMachineClientAsync();
        // B reads the client (and keeps it in its memory) first.
        var before = await cluster.B.ClientCredentialsAsync(clientId, secret);
        Assert.False(before.IsError, before.Error + " " + before.ErrorDescription);

        await cluster.A.AdminPostAsync($"/api/admin/clients/{clientId}/disable", null, HttpStatusCode.OK);
        // A's change signal empties B's client cache; B's entry would otherwise live ClusterFixture.ClientCacheLifetime.
        await UntilAsync(cluster.B, clientId, secret, "unauthorized_client");

        await cluster.A.AdminPostAsync($"/api/admin/clients/{clientId}/enable", null, HttpStatusCode.OK);
        await UntilAsync(cluster.B, clientId, secret, null);
    }

    [Fact]
    public async Task SecretAddedAndRevokedAndDepartmentSuspendedAtA_AppliesAtB()
    {
        var department = "scale-" + Guid.NewGuid().ToString("N")[..8];
        await cluster.A.AdminPostAsync("/api/admin/departments", new { code = department, name = "缓存测试部门" }, HttpStatusCode.Created);
        var (clientId, oldSecret) = await RegisterMachineClientAsync(department);
        for (var i = 0; i < 3; i++)
        {
            Assert.False((await cluster.B.ClientCredentialsAsync(clientId, oldSecret)).IsError);
        }

        var created = await cluster.A.AdminPostAsync($"/api/admin/clients/{clientId}/secrets", new { expiresInDays = 30 }, HttpStatusCode.Created);
        var newSecret = created.GetProperty("clientSecret").GetString()!;
        await UntilAsync(cluster.B, clientId, newSecret, null);

        using (var admin = await cluster.A.AdminAsync())
        {
            using var revoked = await admin.DeleteAsync($"/api/admin/clients/{clientId}/secrets/{OtherSecretId(await admin.GetStringAsync($"/api/admin/clients/{clientId}/secrets"), created)}");
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        await UntilAsync(cluster.B, clientId, oldSecret, "invalid_client");
        Assert.False((await cluster.B.ClientCredentialsAsync(clientId, newSecret)).IsError);

        await cluster.A.AdminPostAsync($"/api/admin/departments/{department}/suspend", null, HttpStatusCode.OK);
        await UntilAsync(cluster.B, clientId, newSecret, "unauthorized_client");
        await cluster.A.AdminPostAsync($"/api/admin/departments/{department}/activate", null, HttpStatusCode.OK);
        await UntilAsync(cluster.B, clientId, newSecret, null);
    }

    [Fact]
    public async Task ChangeSignalLost_BSeesTheSharedGenerationMove_WithinAboutTheCheckInterval()
    {
        var (clientId, secret) = await RegisterMachineClientAsync();
        for (var i = 0; i < 3; i++)
        {
            Assert.False((await cluster.B.ClientCredentialsAsync(clientId, secret)).IsError);
        }

        // A change that reaches the database and the shared generation, but whose signal is lost (none is sent).
        await SetStatusBehindTheNodesAsync(clientId, "Disabled");
        await UntilAsync(cluster.B, clientId, secret, "unauthorized_client", TimeSpan.FromSeconds(15));
        await SetStatusBehindTheNodesAsync(clientId, "Active");
        await UntilAsync(cluster.B, clientId, secret, null, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task PhoneConfirmedAtA_UserInfoAtBShowsItPromptly_AccountDeletedBehindTheNodes_BRefusesWithinAboutTheCheckInterval()
    {
        var app = await RegisterWebAppAsync(withPhone: true);
        var phone = "137" + Random.Shared.Next(10_000_000, 99_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var user = await CreateUserAsync(phone);
        var cookies = new CookieContainer();
        var tokens = await CodeFlowAsync(cluster.A, cookies, app, user, scope: "openid profile phone offline_access");
        // B serves the person (and keeps it in its memory, ClusterFixture.PersonCacheLifetime).
        for (var i = 0; i < 3; i++)
        {
            var before = await UserInfoAtAsync(cluster.B, tokens.AccessToken!);
            Assert.Equal(phone, before.GetProperty("phone_number").GetString());
            Assert.False(before.GetProperty("phone_number_verified").GetBoolean());
        }

        // The citizen confirms the number at A (account page, SMS code): A's "persons" signal names the account to B. The
        // polls below end long before B's entry would expire (ClusterFixture: PersonCache:Lifetime 10 minutes).
        using (var browser = cluster.A.Client(cookies))
        {
            var page = await browser.GetStringAsync("Account/Manage/Phone");
            using var sent = await browser.PostAsync("Account/Manage/Phone?handler=Send", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page),
            }));
            var form = await sent.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
            var outbox = JsonDocument.Parse(await browser.GetStringAsync("dev/sms?phone=" + phone)).RootElement;
            var code = System.Text.RegularExpressions.Regex.Match(outbox[0].GetProperty("text").GetString()!, @"\b[0-9]{6}\b").Value;
            using var confirmed = await browser.PostAsync("Account/Manage/Phone?handler=Confirm", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Code"] = code,
                ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(form),
            }));
            Assert.Equal(HttpStatusCode.Redirect, confirmed.StatusCode);
        }

        await Poll.UntilAsync(async () => (await UserInfoAtAsync(cluster.B, tokens.AccessToken!)).GetProperty("phone_number_verified").GetBoolean(),
            "B to show the number confirmed at A");

        // A change that reaches the database and the shared person generation, but whose signal is lost (none is sent): B
        // finds a generation it did not hear of at its next check (PersonCache:CheckInterval, 1 s) and forgets everyone.
        await using (var connection = new NpgsqlConnection(cluster.DirectConnectionString))
        {
            await connection.OpenAsync();
            await using var delete = new NpgsqlCommand("""DELETE FROM "AspNetUsers" WHERE "Id" = @id""", connection);
            delete.Parameters.AddWithValue("id", user.Id);
            Assert.Equal(1, await delete.ExecuteNonQueryAsync());
        }

        await using (var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis.Configuration))
        {
            await redis.GetDatabase().StringIncrementAsync("identityhub:cache:persons:generation");
        }

        await Poll.UntilAsync(async () =>
        {
            using var http = cluster.B.Client();
            var answer = await http.GetUserInfoAsync(new UserInfoRequest { Address = cluster.B.Url("connect/userinfo"), Token = tokens.AccessToken });
            return answer.HttpStatusCode == HttpStatusCode.Unauthorized;
        }, "B to refuse the access token of the account deleted behind the nodes");
    }

    private static async Task<JsonElement> UserInfoAtAsync(ClusterNode node, string accessToken)
    {
        using var http = node.Client();
        var answer = await http.GetUserInfoAsync(new UserInfoRequest { Address = node.Url("connect/userinfo"), Token = accessToken });
        Assert.False(answer.IsError, $"{node.Id}: {answer.Error}");
        return answer.Json!.Value.Clone();
    }

    /// <summary>
    /// Polls <paramref name="node"/>'s token endpoint until its answer is <paramref name="error"/> (null: a token). The
    /// fixture keeps cached clients for ClusterFixture.ClientCacheLifetime, far beyond every deadline here, so only the
    /// signal or the generation check can make this pass.
    /// </summary>
    private static async Task UntilAsync(ClusterNode node, string clientId, string secret, string? error, TimeSpan? within = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = within ?? TimeSpan.FromSeconds(30);
        Assert.True(limit < ClusterFixture.ClientCacheLifetime);
        while (true)
        {
            var token = await node.ClientCredentialsAsync(clientId, secret);
            // RFC 6749 section 5.2: a client that authenticated with the Authorization header gets invalid_client as a
            // 401, which the client library reports by its status.
            var answer = token.HttpStatusCode == HttpStatusCode.Unauthorized ? "invalid_client" : token.Error;
            if (answer == error)
            {
                return;
            }

            Assert.True(deadline.Elapsed < limit, $"{node.Id} still answers {answer ?? "a token"} after {deadline.Elapsed}, expected {error ?? "a token"}.");
            await Task.Delay(100);
        }
    }

    private static string OtherSecretId(string secretsJson, JsonElement created) =>
        JsonDocument.Parse(secretsJson).RootElement.EnumerateArray()
            .Single(s => s.GetProperty("id").GetString() != created.GetProperty("id").GetString()).GetProperty("id").GetString()!;

    /// <summary>Changes a client in PostgreSQL and increments the shared client generation in Redis, without telling any node.</summary>
    private async Task SetStatusBehindTheNodesAsync(string clientId, string status)
    {
        await using (var connection = new NpgsqlConnection(cluster.DirectConnectionString))
        {
            await connection.OpenAsync();
            await using var update = new NpgsqlCommand("""UPDATE "OpenIddictApplications" SET "Status" = @status WHERE "ClientId" = @client""", connection);
            update.Parameters.AddWithValue("status", status);
            update.Parameters.AddWithValue("client", clientId);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis.Configuration);
        await redis.GetDatabase().StringIncrementAsync("identityhub:cache:clients:generation");
    }

    [Fact]
    public async Task FailuresSpreadAcrossNodes_LockTheAccountAtTheConfiguredCount_AndShareTheAccountRateLimit()
    {
        // One failure short of the lockout, spread over both nodes: the right password still signs in.
        var almost = await CreateUserAsync();
        for (var i = 0; i < ClusterFixture.MaxFailedAccessAttempts - 1; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await PostSignInAsync(i % 2 == 0 ? cluster.A : cluster.B, almost.UserName, "Wrong-Password-" + i));
        }

        Assert.Equal(HttpStatusCode.Redirect, await PostSignInAsync(cluster.B, almost.UserName, Password));

        // The configured count, spread over both nodes: locked, on either node, even with the right password.
        var locked = await CreateUserAsync();
        for (var i = 0; i < ClusterFixture.MaxFailedAccessAttempts; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await PostSignInAsync(i % 2 == 0 ? cluster.A : cluster.B, locked.UserName, "Wrong-Password-" + i));
        }

        Assert.Equal(HttpStatusCode.OK, await PostSignInAsync(cluster.A, locked.UserName, Password));
        Assert.Equal(HttpStatusCode.OK, await PostSignInAsync(cluster.B, locked.UserName, Password));
        await using (var connection = new NpgsqlConnection(cluster.DirectConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT \"LockoutEnd\" FROM \"AspNetUsers\" WHERE \"Id\" = @id", connection);
            command.Parameters.AddWithValue("id", locked.Id);
            Assert.IsType<DateTime>(await command.ExecuteScalarAsync());
        }

        // Failed sign-ins per name typed (RateLimits:SignInPerAccount) are counted across the nodes: the window's
        // failures spread over A and B, the next attempt at either node waits (429).
        var nobody = "nobody-" + Guid.NewGuid().ToString("N")[..10];
        for (var i = 0; i < ClusterFixture.FailuresPerAccountWindow; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await PostSignInAsync(i % 2 == 0 ? cluster.A : cluster.B, nobody, "Wrong-Password"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await PostSignInAsync(cluster.A, nobody, "Wrong-Password"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await PostSignInAsync(cluster.B, nobody, "Wrong-Password"));
    }

    [Fact]
    public async Task KeyRotation_NewKeyPublishedOnBothNodesBeforeItSigns_TokensSignedBeforeValidateAfterOnBothNodes()
    {
        var app = await RegisterWebAppAsync();
        var user = await CreateUserAsync();
        var (machine, machineSecret) = await RegisterMachineClientAsync();
        var before = await CodeFlowAsync(cluster.A, new CookieContainer(), app, user);
        var oldKid = new JsonWebToken(before.AccessToken).Kid;

        // Watch both JWKS documents (when each kid is first seen on each node) and the kid of fresh tokens from both
        // nodes, until a new key signs.
        var seen = new Dictionary<string, Dictionary<string, DateTime>> { [cluster.A.Id] = [], [cluster.B.Id] = [] };
        string? newKid = null;
        DateTime firstSigned = default;
        var deadline = Stopwatch.StartNew();
        while (newKid is null)
        {
            Assert.True(deadline.Elapsed < ClusterFixture.RotationInterval * 2 + TimeSpan.FromSeconds(20), "No rotation happened.");
            foreach (var node in new[] { cluster.A, cluster.B })
            {
                var kids = (await node.JsonAsync(".well-known/jwks")).GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!);
                foreach (var kid in kids)
                {
                    seen[node.Id].TryAdd(kid, DateTime.UtcNow);
                }

                Assert.Contains(oldKid, seen[node.Id].Keys);
            }

            foreach (var node in new[] { cluster.A, cluster.B })
            {
                var token = await node.ClientCredentialsAsync(machine, machineSecret);
                Assert.False(token.IsError, token.Error);
                if (new JsonWebToken(token.AccessToken).Kid is var kid && kid != oldKid && newKid is null)
                {
                    newKid = kid;
                    firstSigned = DateTime.UtcNow;
                }
            }

            await Task.Delay(250);
        }

        // Published in both JWKS before either node signed with it (Oidc:KeyRotation:PublishAhead).
        Assert.True(seen[cluster.A.Id].TryGetValue(newKid, out var onA) && onA < firstSigned, $"{newKid} signed before node-a published it");
        Assert.True(seen[cluster.B.Id].TryGetValue(newKid, out var onB) && onB < firstSigned, $"{newKid} signed before node-b published it");

        // Both nodes follow without a restart (each switches at the activation time, give or take its timer).
        foreach (var node in new[] { cluster.A, cluster.B })
        {
            await Poll.UntilAsync(async () => new JsonWebToken((await node.ClientCredentialsAsync(machine, machineSecret)).AccessToken).Kid == newKid,
                node.Id + " to sign with " + newKid);
        }

        // Tokens signed with the old key still validate on both nodes, whose JWKS still publish it.
        foreach (var node in new[] { cluster.A, cluster.B })
        {
            Assert.True(await ActiveAtAsync(node, app, before.AccessToken!));
            using var http = node.Client();
            var userInfo = await http.GetUserInfoAsync(new UserInfoRequest { Address = node.Url("connect/userinfo"), Token = before.AccessToken });
            Assert.False(userInfo.IsError, node.Id + ": " + userInfo.Error);
            var kids = (await node.JsonAsync(".well-known/jwks")).GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString());
            Assert.Contains(oldKid, kids);
        }

        using var client = cluster.B.Client();
        var refreshed = await client.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = cluster.B.Url("connect/token"),
            ClientId = app.ClientId,
            ClientSecret = app.Secret,
            RefreshToken = before.RefreshToken!,
        });
        Assert.False(refreshed.IsError, refreshed.Error + " " + refreshed.ErrorDescription);
        Assert.NotEqual(oldKid, new JsonWebToken(refreshed.IdentityToken).Kid);
    }

    [Fact]
    public async Task AuditChainsOfBothNodes_VerifyAndTogetherHoldEveryEvent()
    {
        var correlations = new List<(string Correlation, string Node)>();
        for (var i = 0; i < 6; i++)
        {
            var node = i % 2 == 0 ? cluster.A : cluster.B;
            var correlation = "scale-audit-" + Guid.NewGuid().ToString("N")[..12];
            await PostSignInAsync(node, "nobody-" + correlation, "Wrong-Password", correlation);
            correlations.Add((correlation, node.Id));
        }

        await using (var connection = new NpgsqlConnection(cluster.DirectConnectionString))
        {
            await connection.OpenAsync();
            foreach (var (correlation, node) in correlations)
            {
                await using var command = new NpgsqlCommand(
                    "SELECT \"NodeId\" FROM \"AuditEvents\" WHERE \"CorrelationId\" = @c AND \"EventType\" = 'signin.failed'", connection);
                command.Parameters.AddWithValue("c", correlation);
                var nodes = new List<string>();
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    nodes.Add(reader.GetString(0));
                }

                Assert.Equal([node], nodes);
            }
        }

        var environment = cluster.Environment("verifier");
        await using var verify = Hosting.ServerProcess.Start(environment, "verify-audit", "--json");
        var exitCode = await verify.WaitForExitAsync();
        Assert.True(exitCode == 0, verify.StandardOutput + verify.StandardError);
        var report = JsonDocument.Parse(verify.StandardOutput[verify.StandardOutput.IndexOf('{')..]).RootElement;
        Assert.True(report.GetProperty("valid").GetBoolean());
        var chains = report.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()).ToList();
        Assert.Contains("node-a", chains);
        Assert.Contains("node-b", chains);
    }

    [Fact]
    public async Task Metrics_CountSignInsAndTokensByGrantAndClient_ForPrometheus()
    {
        var (machine, machineSecret) = await RegisterMachineClientAsync();
        Assert.False((await cluster.B.ClientCredentialsAsync(machine, machineSecret)).IsError);
        Assert.Contains("invalid_client", (await cluster.B.ClientCredentialsAsync(machine, "wrong-secret")).Raw, StringComparison.Ordinal);
        await PostSignInAsync(cluster.B, "nobody-" + Guid.NewGuid().ToString("N")[..8], "Wrong-Password");

        using var http = cluster.B.Client();
        var text = await http.GetStringAsync("metrics");
        Assert.Contains($"identityhub_tokens_issued_total{{otel_scope_name=\"IdentityHub\",client_id=\"{machine}\",grant_type=\"client_credentials\"}} 1", text);
        Assert.Contains("identityhub_protocol_failures_total{", text);
        Assert.Matches("identityhub_signins_total\\{[^}]*outcome=\"failure\"", text);
        Assert.Contains("identityhub_protocol_duration_seconds_bucket{", text);
        Assert.Contains("http_server_request_duration_seconds_bucket{", text);
        // ASP.NET Core's other instruments run at a lower cardinality limit (TelemetryExtensions.FrameworkCardinalityLimit): still exported.
        Assert.Contains("kestrel_active_connections{", text);
        Assert.DoesNotContain("nobody-", text, StringComparison.Ordinal);
        using var live = await http.GetAsync("health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    private async Task<App> RegisterWebAppAsync(bool withPhone = false)
    {
        await EnsureDepartmentAsync();
        var clientId = "web-" + Guid.NewGuid().ToString("N")[..12];
        var redirect = $"https://{clientId}.apps.test/cb";
        var json = await cluster.A.AdminPostAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode = Department,
            displayName = "Scale " + clientId,
            clientType = "confidential",
            grantTypes = new[] { "authorization_code", "refresh_token" },
            redirectUris = new[] { redirect },
            postLogoutRedirectUris = Array.Empty<string>(),
            scopes = withPhone ? new[] { "openid", "profile", "phone", "offline_access" } : new[] { "openid", "profile", "offline_access" },
        }, HttpStatusCode.Created);
        return new App(clientId, json.GetProperty("clientSecret").GetString()!, redirect);
    }

    private async Task<(string ClientId, string Secret)> RegisterMachineClientAsync(string department = Department)
    {
        await EnsureDepartmentAsync();
        var clientId = "svc-" + Guid.NewGuid().ToString("N")[..12];
        var json = await cluster.A.AdminPostAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode = department,
            displayName = "Scale " + clientId,
            clientType = "confidential",
            grantTypes = new[] { "client_credentials" },
            redirectUris = Array.Empty<string>(),
            scopes = Array.Empty<string>(),
        }, HttpStatusCode.Created);
        return (clientId, json.GetProperty("clientSecret").GetString()!);
    }

    private async Task EnsureDepartmentAsync()
    {
        using var admin = await cluster.A.AdminAsync();
        using var response = await admin.PostAsync("/api/admin/departments",
            JsonContent(new { code = Department, name = "扩展测试部门" }));
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, await response.Content.ReadAsStringAsync());
    }

    private async Task<(string Id, string UserName)> CreateUserAsync(string? phoneNumber = null)
    {
        var userName = "scale" + Guid.NewGuid().ToString("N")[..10];
        var json = await cluster.A.AdminPostAsync("/api/admin/users", new { userName, password = Password, displayName = "扩展测试", phoneNumber },
            HttpStatusCode.Created);
        return (json.GetProperty("id").GetString()!, userName);
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    private static async Task<TokenResponse> CodeFlowAsync(ClusterNode node, CookieContainer cookies, App app, (string Id, string UserName)? user,
        string? prompt = null, string scope = "openid profile offline_access")
    {
        var pkce = Pkce.Create();
        var callback = await AuthorizeAsync(node, cookies, app, pkce, user?.UserName, prompt, scope);
        var code = HttpUtility.ParseQueryString(callback.Query)["code"];
        Assert.True(code is not null, "No code in " + callback);
        using var http = node.Client();
        var tokens = await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = node.Url("connect/token"),
            ClientId = app.ClientId,
            ClientSecret = app.Secret,
            Code = code,
            RedirectUri = app.RedirectUri,
            CodeVerifier = pkce.Verifier,
        });
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
        return tokens;
    }

    /// <summary>Walks /connect/authorize as a browser: redirects, the sign-in page if one comes (and a user is given), back to the app.</summary>
    private static async Task<Uri> AuthorizeAsync(ClusterNode node, CookieContainer cookies, App app, Pkce pkce, string? userName, string? prompt,
        string scope = "openid profile offline_access")
    {
        var query = HttpUtility.ParseQueryString("");
        query["client_id"] = app.ClientId;
        query["response_type"] = "code";
        query["scope"] = scope;
        query["redirect_uri"] = app.RedirectUri;
        query["state"] = Guid.NewGuid().ToString("N");
        query["nonce"] = Guid.NewGuid().ToString("N");
        query["code_challenge"] = pkce.Challenge;
        query["code_challenge_method"] = "S256";
        if (prompt is not null)
        {
            query["prompt"] = prompt;
        }

        using var http = node.Client(cookies);
        var url = new Uri(node.Url("connect/authorize") + "?" + query);
        var signedIn = false;
        for (var hop = 0; hop < 15; hop++)
        {
            if (url.Authority != node.BaseAddress.Authority)
            {
                return url;
            }

            using var response = await http.GetAsync(url);
            if ((int)response.StatusCode is >= 300 and < 400)
            {
                url = new Uri(url, response.Headers.Location!);
                continue;
            }

            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && url.AbsolutePath == "/Account/Login" && userName is not null && !signedIn)
            {
                signedIn = true;
                using var post = await http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["Input.SignInName"] = userName,
                    ["Input.Password"] = Password,
                    ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(body),
                    ["ReturnUrl"] = HttpUtility.ParseQueryString(url.Query)["ReturnUrl"] ?? "",
                }));
                Assert.True((int)post.StatusCode is >= 300 and < 400, $"Sign-in refused at {node.Id}: {(int)post.StatusCode}");
                url = new Uri(url, post.Headers.Location!);
                continue;
            }

            throw new InvalidOperationException($"Stopped at {url} on {node.Id}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 400)]}");
        }

        throw new InvalidOperationException("Too many redirects.");
    }

    /// <summary>Posts the sign-in form at a node (fresh browser); returns the status: 302 signed in, 200 refused, 429 waiting.</summary>
    private static async Task<HttpStatusCode> PostSignInAsync(ClusterNode node, string signInName, string password, string? correlation = null)
    {
        using var http = node.Client(new CookieContainer());
        var html = await http.GetStringAsync("Account/Login");
        using var request = new HttpRequestMessage(HttpMethod.Post, "Account/Login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.SignInName"] = signInName,
                ["Input.Password"] = password,
                ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
            }),
        };
        if (correlation is not null)
        {
            request.Headers.Add("X-Correlation-Id", correlation);
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<bool> ActiveAtAsync(ClusterNode node, App app, string token)
    {
        using var http = node.Client();
        var result = await http.IntrospectTokenAsync(new TokenIntrospectionRequest
        {
            Address = node.Url("connect/introspect"),
            ClientId = app.ClientId,
            ClientSecret = app.Secret,
            Token = token,
        });
        Assert.False(result.IsError, result.Error);
        return result.IsActive;
    }
}
