using System.Net;
using Duende.IdentityModel.Client;
using WebClient = IdentityHub.Tests.Oidc.WebClient;
using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Sessions;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Sessions;

/// <summary>
/// One IdentityHub server per test class, with a fast back-channel retry schedule, and a <see cref="LogoutReceiver"/>
/// standing in for the department apps' back-channel endpoints. Tests register their own clients and citizens.
/// </summary>
public abstract class SessionsFixture(string provider) : IAsyncLifetime
{
    public string Provider => provider;

    public IdentityHubServer Server { get; private set; } = null!;

    public LogoutReceiver Receiver { get; private set; } = null!;

    /// <summary>
    /// Retries within fractions of a second, so that a test waits for a retry without waiting long; and enough of
    /// them that a notice is never abandoned while a slow machine restarts an app.
    /// </summary>
    public static void FastBackChannel(Dictionary<string, string?> settings)
    {
        settings["Sessions:BackChannel:PollInterval"] = "00:00:00.200";
        settings["Sessions:BackChannel:InitialRetryDelay"] = "00:00:00.100";
        settings["Sessions:BackChannel:MaxRetryDelay"] = "00:00:00.500";
        settings["Sessions:BackChannel:MaxAttempts"] = "10000";
    }

    public async Task InitializeAsync()
    {
        Receiver = await LogoutReceiver.StartAsync();
        Server = await IdentityHubServer.StartAsync(provider, FastBackChannel);
    }

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        if (Receiver is not null)
        {
            await Receiver.DisposeAsync();
        }
    }
}

public sealed class SqliteSessionsFixture() : SessionsFixture("Sqlite");

public sealed class PostgresSessionsFixture() : SessionsFixture("Postgres");

/// <summary>Registration of test department apps with logout URIs, and what the session tests read back.</summary>
public static class SessionsKit
{
    /// <summary>A web client of <paramref name="department"/> (pairwise subjects) with a back-channel URI at the receiver, and optionally a front-channel URI.</summary>
    public static async Task<WebClient> RegisterClientAsync(OidcKit kit, LogoutReceiver receiver, string department = "sessions",
        bool backChannel = true, string? frontChannelLogoutUri = null, string? idTokenSignedResponseAlg = null)
    {
        var clientId = OidcKit.UniqueId("sso");
        var baseUri = $"https://{clientId}.apps.test";
        await kit.Admin.CreateDepartmentAsync(department, "会话测试部门 " + department);
        using var response = await kit.Admin.PostAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode = department,
            displayName = "会话测试应用 " + clientId,
            kind = "web",
            redirectUris = new[] { baseUri + "/signin-oidc" },
            postLogoutRedirectUris = new[] { baseUri + "/signout-callback-oidc" },
            scopes = new[] { "openid", "profile", "phone", "offline_access" },
            backChannelLogoutUri = backChannel ? receiver.UriFor(clientId) : null,
            frontChannelLogoutUri,
            idTokenSignedResponseAlg,
        });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        var secret = JsonDocument.Parse(text).RootElement.GetProperty("clientSecret").GetString();
        return new WebClient(clientId, secret, baseUri + "/signin-oidc", baseUri + "/signout-callback-oidc");
    }

    public static string Sid(CodeFlow flow) => OidcKit.JwtPayload(flow.Tokens.IdentityToken!).GetProperty("sid").GetString()!;

    public static string Sub(CodeFlow flow) => OidcKit.JwtPayload(flow.Tokens.IdentityToken!).GetProperty("sub").GetString()!;

    /// <summary>authorize with prompt=none in <paramref name="browser"/>: the callback's parameters (a code, or an error).</summary>
    public static async Task<System.Collections.Specialized.NameValueCollection> PromptNoneAsync(OidcKit kit, BrowserlessSignIn browser, WebClient client)
    {
        var url = await kit.AuthorizeUrlAsync(client, Pkce.Create(), OidcKit.UniqueId("state"), OidcKit.UniqueId("nonce"), prompt: "none");
        return await OidcKit.AuthorizeToCallbackAsync(browser, url, user: null, client.RedirectUri);
    }

    /// <summary>IdentityHub's back-channel notice for a session and a client, as queued in its database.</summary>
    public static async Task<LogoutNotice?> NoticeAsync(IdentityHubServer server, string sid, string clientId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        return await db.Set<LogoutNotice>().AsNoTracking().SingleOrDefaultAsync(n => n.SessionId == sid && n.ClientId == clientId);
    }

    /// <summary>RP-initiated logout with id_token_hint: follows the server's redirects, returns where the browser stopped.</summary>
    public static async Task<BrowserlessSignIn.Outcome> LogoutAsync(OidcKit kit, BrowserlessSignIn browser, WebClient client, CodeFlow flow, string state)
    {
        var disco = await kit.DiscoveryAsync();
        var url = new RequestUrl(disco.EndSessionEndpoint!)
            .CreateEndSessionUrl(flow.Tokens.IdentityToken, client.PostLogoutRedirectUri, state);
        return await browser.AuthorizeAsync(url);
    }
}
