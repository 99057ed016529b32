using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;
using IdentityHub.Tests.Sessions;
using Npgsql;
using StackExchange.Redis;

namespace IdentityHub.Tests.Scale;

/// <summary>A client, its secrets, its department or an account changed at one node (or behind both): the other node applies it promptly (the change signal, the shared generation).</summary>
public sealed partial class ScaleOutTests
{
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
}
