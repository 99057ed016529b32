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
        // The runtime's own meter (System.Runtime): the JIT has compiled methods by now, and the GC's counters are there.
        Assert.Matches("dotnet_jit_compiled_methods_total(\\{[^}]*\\})? [1-9]", text);
        Assert.Contains("dotnet_gc_collections_total{", text);
        Assert.DoesNotContain("nobody-", text, StringComparison.Ordinal);
        using var live = await http.GetAsync("health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

}
