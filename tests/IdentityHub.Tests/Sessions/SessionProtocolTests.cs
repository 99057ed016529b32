using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Sessions;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Tests.Sessions;

/// <summary>
/// SSO sessions and single logout over real HTTP: OpenID Connect Back-Channel Logout 1.0 and Front-Channel Logout
/// 1.0, prompt=none against a live and an ended session, refresh tokens of an ended session. The facts live here;
/// each sealed subclass runs them on one database provider.
/// </summary>
public abstract partial class SessionProtocolTests(SessionsFixture fixture)
{
    protected OidcKit Kit { get; } = new(fixture.Server);

    protected LogoutReceiver Receiver => fixture.Receiver;

    protected IdentityHubServer Server => fixture.Server;

    protected BrowserlessSignIn NewBrowser() => new(Server);

    [Fact]
    public async Task Discovery_LogoutSupport_AdvertisesBackAndFrontChannelWithSid()
    {
        var disco = await Kit.DiscoveryAsync();

        // Back-Channel Logout 1.0 section 2.1, Front-Channel Logout 1.0 section 3.
        Assert.True(disco.Json!.Value.GetProperty("backchannel_logout_supported").GetBoolean());
        Assert.True(disco.Json!.Value.GetProperty("backchannel_logout_session_supported").GetBoolean());
        Assert.True(disco.Json!.Value.GetProperty("frontchannel_logout_supported").GetBoolean());
        Assert.True(disco.Json!.Value.GetProperty("frontchannel_logout_session_supported").GetBoolean());
    }

    [Fact]
    public async Task LogoutToken_RpInitiatedLogout_ValidatesAgainstJwksWithRequiredClaims()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);

        var outcome = await SessionsKit.LogoutAsync(Kit, browser, client, signIn, "bye");
        Assert.Equal(client.PostLogoutRedirectUri, outcome.Callback?.GetLeftPart(UriPartial.Path));
        var token = await Receiver.WaitForTokenAsync(client.ClientId);

        // Section 2.4: signed with the key published in JWKS, typ logout+jwt, audience the client, issuer the OP.
        var validation = await Kit.ValidateJwtAsync(token, client.ClientId, "logout+jwt", "RS256");
        Assert.True(validation.IsValid, validation.Exception?.ToString());
        var header = OidcKit.JwtHeader(token);
        Assert.Equal("logout+jwt", header.GetProperty("typ").GetString());
        Assert.Contains((await Kit.JwksAsync()).Keys, key => key.Kid == header.GetProperty("kid").GetString());

        var claims = OidcKit.JwtPayload(token);
        Assert.Equal((await Kit.DiscoveryAsync()).Issuer, claims.GetProperty("iss").GetString());
        Assert.Equal(client.ClientId, claims.GetProperty("aud").GetString());
        Assert.True(claims.GetProperty("iat").GetInt64() > 0);
        Assert.True(claims.GetProperty("exp").GetInt64() > claims.GetProperty("iat").GetInt64());
        Assert.False(string.IsNullOrEmpty(claims.GetProperty("jti").GetString()));
        var logoutEvent = claims.GetProperty("events").GetProperty("http://schemas.openid.net/event/backchannel-logout");
        Assert.Equal(JsonValueKind.Object, logoutEvent.ValueKind);
        Assert.Empty(logoutEvent.EnumerateObject());
        // The session and the subject exactly as this client saw them in its ID token (pairwise per department).
        Assert.Equal(SessionsKit.Sid(signIn), claims.GetProperty("sid").GetString());
        Assert.Equal(SessionsKit.Sub(signIn), claims.GetProperty("sub").GetString());
        Assert.False(claims.TryGetProperty("nonce", out _), "A logout token must not contain a nonce (section 2.4).");
    }

    [Fact]
    public async Task PromptNone_LiveSessionThenLogout_CodeThenLoginRequired()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);

        // OIDC Core section 3.1.2.1: a live session answers prompt=none with a code, without any page.
        var silent = await SessionsKit.PromptNoneAsync(Kit, browser, client);
        Assert.Null(silent["error"]);
        Assert.False(string.IsNullOrEmpty(silent["code"]));

        await SessionsKit.LogoutAsync(Kit, browser, client, signIn, "bye");

        var after = await SessionsKit.PromptNoneAsync(Kit, browser, client);
        Assert.Equal("login_required", after["error"]);
        Assert.Null(after["code"]);
    }

    [Fact]
    public async Task RefreshToken_ItsSessionEnded_RevokedWhileAnotherSessionKeepsItsOwn()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var ending = NewBrowser();
        var staying = NewBrowser();
        var endingFlow = await Kit.CodeFlowAsync(ending, client, user);
        var stayingFlow = await Kit.CodeFlowAsync(staying, client, user);
        Assert.NotEqual(SessionsKit.Sid(endingFlow), SessionsKit.Sid(stayingFlow));
        // The session link (saved with the code's entry: Oidc:AdHocAuthorizationWithCode, on by default): the session's
        // participant names the ad-hoc authorization its refresh token hangs from.
        var authorizationId = await SessionAuthorizationAsync(SessionsKit.Sid(endingFlow), client.ClientId);
        Assert.Equal([Statuses.Valid], await RefreshTokenStatusesAsync(authorizationId));

        await SessionsKit.LogoutAsync(Kit, ending, client, endingFlow, "bye");

        var refused = await Kit.RefreshAsync(client, endingFlow.Tokens.RefreshToken!);
        Assert.Equal("invalid_grant", refused.Error);
        var introspection = await Kit.IntrospectAsync(client.ClientId, client.Secret, endingFlow.Tokens.RefreshToken!);
        Assert.False(introspection.IsActive);
        // Revoked through the link, not only refused by the token endpoint's check of the session.
        Assert.Equal([Statuses.Revoked], await RefreshTokenStatusesAsync(authorizationId));
        var refreshed = await Kit.RefreshAsync(client, stayingFlow.Tokens.RefreshToken!);
        Assert.False(refreshed.IsError, $"{refreshed.Error} {refreshed.ErrorDescription}");
    }

    /// <summary>The ad-hoc authorization the session's participant row names for the client (exactly one, valid).</summary>
    private async Task<string> SessionAuthorizationAsync(string sid, string clientId)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var participant = await db.Set<SessionParticipant>().SingleAsync(p => p.SessionId == sid && p.ClientId == clientId);
        var authorization = await db.Set<HubAuthorization>().SingleAsync(a => a.Id == participant.AuthorizationId);
        Assert.Equal((AuthorizationTypes.AdHoc, Statuses.Valid), (authorization.Type, authorization.Status));
        Assert.Equal(participant.Subject, authorization.Subject);
        return authorization.Id!;
    }

    /// <summary>The statuses of the refresh token entries of an authorization.</summary>
    private async Task<List<string?>> RefreshTokenStatusesAsync(string authorizationId)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        return await db.Set<HubToken>().AsNoTracking()
            .Where(t => t.Authorization!.Id == authorizationId && (t.Type == TokenTypeIdentifiers.RefreshToken || t.Type == "refresh_token"))
            .Select(t => t.Status).ToListAsync();
    }

    [Fact]
    public async Task BackChannel_AppAnswersErrorsFirst_RetriedUntilAcknowledgedAndAudited()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);
        Receiver.FailNext(client.ClientId, 2);

        await SessionsKit.LogoutAsync(Kit, browser, client, signIn, "bye");
        var token = await Receiver.WaitForTokenAsync(client.ClientId);

        Assert.Equal(2, Receiver.Refusals(client.ClientId));
        Assert.Equal(SessionsKit.Sid(signIn), OidcKit.JwtPayload(token).GetProperty("sid").GetString());
        var sid = SessionsKit.Sid(signIn);
        await Poll.UntilAsync(async () => (await SessionAuditAsync(sid)).Contains("session.logout_notified"), "the logout_notified audit event");
        var events = await SessionAuditAsync(sid);
        Assert.Contains("session.started", events);
        Assert.Contains("session.ended", events);
    }

    [Fact]
    public async Task FrontChannel_RegisteredUri_SignedOutPageFramesIssAndSidThenFinishesLogout()
    {
        var frontChannelUri = "https://front.apps.test/frontchannel-logout?app=1";
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver, backChannel: false, frontChannelLogoutUri: frontChannelUri);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);

        var page = await SessionsKit.LogoutAsync(Kit, browser, client, signIn, "front-state");

        // Section 3: the OP renders the app's URI in an iframe, with iss and sid, before returning to the app.
        Assert.Null(page.Callback);
        Assert.Equal("/Account/SignedOut", page.LastUrl.AbsolutePath);
        var frame = Regex.Match(page.FinalBody!, "<iframe class=\"frontchannel-logout\" src=\"([^\"]+)\"");
        Assert.True(frame.Success, OidcKit.Shorten(page.FinalBody));
        var frameUri = new Uri(WebUtility.HtmlDecode(frame.Groups[1].Value));
        Assert.Equal("https://front.apps.test/frontchannel-logout", frameUri.GetLeftPart(UriPartial.Path));
        var query = HttpUtility.ParseQueryString(frameUri.Query);
        Assert.Equal("1", query["app"]);
        Assert.Equal((await Kit.DiscoveryAsync()).Issuer, query["iss"]);
        Assert.Equal(SessionsKit.Sid(signIn), query["sid"]);

        var next = Regex.Match(page.FinalBody!, "<a id=\"continue\" href=\"([^\"]+)\"");
        var finished = await browser.AuthorizeAsync(WebUtility.HtmlDecode(next.Groups[1].Value));
        Assert.Equal(client.PostLogoutRedirectUri, finished.Callback?.GetLeftPart(UriPartial.Path));
        Assert.Equal("front-state", HttpUtility.ParseQueryString(finished.Callback!.Query)["state"]);
        Assert.Equal("login_required", (await SessionsKit.PromptNoneAsync(Kit, browser, client))["error"]);
    }

    [Fact]
    public async Task SignInAgain_SamePersonWithPromptLogin_KeepsSidAndTokens()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var first = await Kit.CodeFlowAsync(browser, client, user);

        var again = await Kit.CodeFlowAsync(browser, client, user, prompt: "login");

        Assert.Equal(SessionsKit.Sid(first), SessionsKit.Sid(again));
        var refreshed = await Kit.RefreshAsync(client, first.Tokens.RefreshToken!);
        Assert.False(refreshed.IsError, $"{refreshed.Error} {refreshed.ErrorDescription}");
        Assert.DoesNotContain("session.ended", await SessionAuditAsync(SessionsKit.Sid(first)));
    }

    [Fact]
    public async Task SignInAgain_AnotherPersonInTheSameBrowser_EndsThePreviousSessionAndTellsItsApps()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var browser = NewBrowser();
        var previous = await Kit.CodeFlowAsync(browser, client, await Kit.CreateUserAsync());

        var next = await Kit.CodeFlowAsync(browser, client, await Kit.CreateUserAsync(), prompt: "login");

        Assert.NotEqual(SessionsKit.Sid(previous), SessionsKit.Sid(next));
        var token = await Receiver.WaitForTokenAsync(client.ClientId);
        Assert.Equal(SessionsKit.Sid(previous), OidcKit.JwtPayload(token).GetProperty("sid").GetString());
        Assert.Equal("invalid_grant", (await Kit.RefreshAsync(client, previous.Tokens.RefreshToken!)).Error);
    }

    [Fact]
    public async Task Pruning_EndedSessionPastRetention_RemovedWhileLiveSessionKept()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver);
        var user = await Kit.CreateUserAsync();
        var ending = NewBrowser();
        var staying = NewBrowser();
        var endingFlow = await Kit.CodeFlowAsync(ending, client, user);
        var stayingFlow = await Kit.CodeFlowAsync(staying, client, user);
        await SessionsKit.LogoutAsync(Kit, ending, client, endingFlow, "bye");
        // Not the receiver's acknowledgement: the sender commits the delivery (DueAtUtc cleared) only after the app's
        // answer, and until then the notice is in flight, which pruning rightly keeps.
        await Poll.UntilAsync(async () => await SessionsKit.NoticeAsync(Server, SessionsKit.Sid(endingFlow), client.ClientId) is { DeliveredAtUtc: not null, DueAtUtc: null },
            "the logout notice's delivery to be committed");
        var pruning = new SessionPruningService(Server.Services.GetRequiredService<IServiceScopeFactory>(),
            Options.Create(new SessionOptions { RetainFor = TimeSpan.Zero }), TimeProvider.System, NullLogger<SessionPruningService>.Instance);

        await pruning.PruneAsync(CancellationToken.None);

        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        Assert.False(await db.Set<SsoSession>().AnyAsync(s => s.Id == SessionsKit.Sid(endingFlow)));
        Assert.False(await db.Set<LogoutNotice>().AnyAsync(n => n.SessionId == SessionsKit.Sid(endingFlow)));
        Assert.True(await db.Set<SsoSession>().AnyAsync(s => s.Id == SessionsKit.Sid(stayingFlow)));
        Assert.False(string.IsNullOrEmpty((await SessionsKit.PromptNoneAsync(Kit, staying, client))["code"]));
    }

    /// <summary>The audit event types recorded for a session, through the administration API.</summary>
    private HttpClient? _auditor;

    /// <summary>The session's audit events, as an auditor reads them (session events are identity events: /api/audit, role auditor).</summary>
    protected async Task<List<string>> SessionAuditAsync(string sid)
    {
        _auditor ??= await PersonClientAsync("auditor");
        var json = JsonDocument.Parse(await _auditor.GetStringAsync("/api/audit/events?type=session&limit=200")).RootElement;
        return [.. json.GetProperty("items").EnumerateArray()
            .Where(e => e.GetProperty("targetId").GetString() == sid && e.GetProperty("sessionId").GetString() == sid)
            .Select(e => e.GetProperty("eventType").GetString()!)];
    }
}

public sealed class SessionProtocolTests_Sqlite(SqliteSessionsFixture fixture)
    : SessionProtocolTests(fixture), IClassFixture<SqliteSessionsFixture>;

public sealed class SessionProtocolTests_Postgres(PostgresSessionsFixture fixture)
    : SessionProtocolTests(fixture), IClassFixture<PostgresSessionsFixture>;
