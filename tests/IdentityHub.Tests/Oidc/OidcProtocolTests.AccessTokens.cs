using System.Net;
using Duende.IdentityModel.Client;
using IdentityHub.Server.Data;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// Access tokens are self-contained (no token entry in the database); every way of revoking them still stops them at
/// userinfo (401) and introspection (active false) at once.
/// </summary>
public abstract partial class OidcProtocolTests
{
    private async Task<UserInfoResponse> UserInfoAsync(string accessToken)
    {
        using var http = Server.CreateHttpClient();
        return await http.GetUserInfoAsync(new UserInfoRequest { Address = Server.Authority + "/connect/userinfo", Token = accessToken });
    }

    /// <summary>OpenIddict's token entries of a client, by type (OpenIddict 7 stores the RFC 8693 type identifiers).</summary>
    private async Task<int> TokenEntriesAsync(string clientId, string type)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var types = await db.Set<Server.Registry.HubToken>().Where(t => t.Application!.ClientId == clientId).Select(t => t.Type).ToListAsync();
        return types.Count(t => t == type);
    }

    [Fact]
    public async Task AccessAndIdTokens_NoTokenEntry_CodesAndRefreshTokensKeepTheirs_IdTokenHintStillValidated()
    {
        var (serviceId, serviceSecret) = await Kit.RegisterServiceClientAsync();
        var machine = (await ClientCredentialsAsync(serviceId, serviceSecret)).AccessToken!;
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var flow = await Kit.CodeFlowAsync(browser, client, user);
        var refreshed = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(refreshed.IsError, $"{refreshed.Error} {refreshed.ErrorDescription}");

        // RFC 9068 section 2.2: a jti, and no OpenIddict token entry id.
        foreach (var token in new[] { machine, flow.Tokens.AccessToken!, refreshed.AccessToken! })
        {
            var payload = OidcKit.JwtPayload(token);
            Assert.False(string.IsNullOrEmpty(payload.GetProperty("jti").GetString()));
            Assert.False(payload.TryGetProperty("oi_tkn_id", out _), payload.GetRawText());
        }

        // ID tokens (OpenID Connect Core section 2): no token entry id either.
        foreach (var token in new[] { flow.Tokens.IdentityToken!, refreshed.IdentityToken! })
        {
            Assert.False(OidcKit.JwtPayload(token).TryGetProperty("oi_tkn_id", out _), OidcKit.JwtPayload(token).GetRawText());
        }

        Assert.Equal(0, await TokenEntriesAsync(serviceId, TokenTypeIdentifiers.AccessToken));
        Assert.Equal(0, await TokenEntriesAsync(client.ClientId, TokenTypeIdentifiers.AccessToken));
        Assert.Equal(0, await TokenEntriesAsync(client.ClientId, TokenTypeIdentifiers.IdentityToken));
        Assert.Equal(1, await TokenEntriesAsync(client.ClientId, TokenTypeIdentifiers.Private.AuthorizationCode));
        Assert.Equal(2, await TokenEntriesAsync(client.ClientId, TokenTypeIdentifiers.RefreshToken));

        // Still valid where the server validates them.
        Assert.True((await Kit.IntrospectAsync(serviceId, serviceSecret, machine, "access_token")).IsActive);
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, refreshed.AccessToken!, "access_token")).IsActive);
        var info = await UserInfoAsync(refreshed.AccessToken!);
        Assert.False(info.IsError, info.Error);

        // An ID token is read back only as id_token_hint (RP-Initiated Logout 1.0 section 2): without an entry its
        // signature is still checked (an altered one names nobody: the person is asked to confirm and the session stays),
        // and a genuine one ends the session at once.
        var disco = await Kit.DiscoveryAsync();
        var parts = refreshed.IdentityToken!.Split('.');
        // The same claims in other bytes (a trailing space): the signature no longer matches.
        var forged = parts[0] + "." + Base64UrlEncoder.Encode(OidcKit.JwtPayload(refreshed.IdentityToken!).GetRawText() + " ") + "." + parts[2];
        using (var http = Server.CreateHttpClient(followRedirects: false, cookies: browser.Cookies))
        {
            using var refused = await http.GetAsync(new RequestUrl(disco.EndSessionEndpoint!).CreateEndSessionUrl(forged, client.PostLogoutRedirectUri, "s1"));
            Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
            Assert.StartsWith("/Account/Logout?", refused.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }

        Assert.Null((await PromptNoneAsync(browser, client)).Callback["error"]);
        var outcome = await browser.AuthorizeAsync(new RequestUrl(disco.EndSessionEndpoint!).CreateEndSessionUrl(refreshed.IdentityToken, client.PostLogoutRedirectUri, "s2"));
        Assert.True(outcome.Callback is not null, $"No redirect: HTTP {(int)outcome.FinalStatus} at {outcome.LastUrl}: {OidcKit.Shorten(outcome.FinalBody)}");
        Assert.Equal(client.PostLogoutRedirectUri, outcome.Callback!.GetLeftPart(UriPartial.Path));
        Assert.Equal("login_required", (await PromptNoneAsync(browser, client)).Callback["error"]);
    }

    [Fact]
    public async Task IdTokenHintOfAClientDisabledSince_PersonAskedToConfirm_SessionKept()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var flow = await Kit.CodeFlowAsync(browser, client, user);
        using var admin = Server.CreateHttpClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());
        using (var response = await admin.PostAsync($"/api/admin/clients/{client.ClientId}/disable", null))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The genuine ID token of a client disabled since: no longer enough to end the session without asking.
        var disco = await Kit.DiscoveryAsync();
        using (var http = Server.CreateHttpClient(followRedirects: false, cookies: browser.Cookies))
        {
            using var asked = await http.GetAsync(new RequestUrl(disco.EndSessionEndpoint!).CreateEndSessionUrl(flow.Tokens.IdentityToken, client.PostLogoutRedirectUri, "s1"));
            Assert.Equal(HttpStatusCode.Redirect, asked.StatusCode);
            Assert.StartsWith("/Account/Logout?", asked.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }

        // The session was kept: the person's own pages still open with the sign-in cookie (signed out, they would
        // redirect to the sign-in page).
        using (var http = Server.CreateHttpClient(followRedirects: false, cookies: browser.Cookies))
        {
            using var sessions = await http.GetAsync("/Account/Sessions");
            Assert.Equal(HttpStatusCode.OK, sessions.StatusCode);
        }
    }

    [Fact]
    public async Task RevokeUserAccessToken_Rfc7009_UserInfo401AndInactive_OtherAccessTokenOfTheGrantKept()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var other = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(other.IsError, $"{other.Error} {other.ErrorDescription}");
        var revoked = flow.Tokens.AccessToken!;
        Assert.False((await UserInfoAsync(revoked)).IsError);

        var revocation = await RevokeAsync(client.ClientId, client.Secret, revoked, "access_token");
        Assert.False(revocation.IsError, $"{revocation.Error} {revocation.Raw}");
        Assert.Equal(HttpStatusCode.OK, revocation.HttpStatusCode);

        var info = await UserInfoAsync(revoked);
        Assert.Equal(HttpStatusCode.Unauthorized, info.HttpStatusCode);
        Assert.Contains("invalid_token", info.HttpResponse!.Headers.WwwAuthenticate.ToString());
        var introspection = await Kit.IntrospectAsync(client.ClientId, client.Secret, revoked, "access_token");
        Assert.False(introspection.IsActive, introspection.Raw);
        Assert.Equal(["active"], introspection.Json?.EnumerateObject().Select(p => p.Name));

        // Only that token: the grant's other access token and its refresh token go on.
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, other.AccessToken!, "access_token")).IsActive);
        Assert.False((await UserInfoAsync(other.AccessToken!)).IsError);
        Assert.False((await Kit.RefreshAsync(client, other.RefreshToken!)).IsError);
        // Revoking it again is no error (RFC 7009 section 2.2).
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(client.ClientId, client.Secret, revoked, "access_token")).HttpStatusCode);
    }

    [Fact]
    public async Task EndSession_AccessTokensOfThatSessionRefused_OtherSessionsKept()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var ending = NewBrowser();
        var endingFlow = await Kit.CodeFlowAsync(ending, client, user);
        var stayingFlow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        Assert.False((await UserInfoAsync(endingFlow.Tokens.AccessToken!)).IsError);

        // RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) with the ID token as hint ends the session at once.
        using (var http = Server.CreateHttpClient(cookies: ending.Cookies))
        {
            using var logout = await http.GetAsync("/connect/endsession?id_token_hint=" + Uri.EscapeDataString(endingFlow.Tokens.IdentityToken!)
                + "&post_logout_redirect_uri=" + Uri.EscapeDataString(client.PostLogoutRedirectUri) + "&state=bye");
            Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await UserInfoAsync(endingFlow.Tokens.AccessToken!)).HttpStatusCode);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, endingFlow.Tokens.AccessToken!, "access_token")).IsActive);
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, stayingFlow.Tokens.AccessToken!, "access_token")).IsActive);
        Assert.False((await UserInfoAsync(stayingFlow.Tokens.AccessToken!)).IsError);
    }

    [Fact]
    public async Task AccountLockedByFailedAttempts_RefreshRefused_AccessTokensIssuedBeforeKept()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        Assert.False((await UserInfoAsync(flow.Tokens.AccessToken!)).IsError);

        // Accounts:MaxFailedAccessAttempts (5) wrong passwords lock the account.
        var form = new LoginForm(Server);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await form.SignInAsync(user.UserName, user.Password + "-wrong");
        }

        // The lockout guards the password against guessing; failed attempts by someone else must not cut the owner's
        // apps off (a denial of service anyone could cause), so the access tokens already issued stay valid until they
        // expire, while no new token is issued from the grant during the lockout.
        Assert.Equal("invalid_grant", (await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!)).Error);
        Assert.False((await UserInfoAsync(flow.Tokens.AccessToken!)).IsError);
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, flow.Tokens.AccessToken!, "access_token")).IsActive);
    }

    [Fact]
    public async Task DisableServiceClient_ItsAccessTokensRefusedAndStayRefusedAfterEnabling_OthersKept()
    {
        var (disabledId, disabledSecret) = await Kit.RegisterServiceClientAsync();
        var (otherId, otherSecret) = await Kit.RegisterServiceClientAsync();
        var disabledToken = (await ClientCredentialsAsync(disabledId, disabledSecret)).AccessToken!;
        var otherToken = (await ClientCredentialsAsync(otherId, otherSecret)).AccessToken!;
        using var admin = Server.CreateHttpClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", await Kit.Admin.GetAdminTokenAsync());

        using (var response = await admin.PostAsync($"/api/admin/clients/{disabledId}/disable", null))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.False((await Kit.IntrospectAsync(disabledId, disabledSecret, disabledToken, "access_token")).IsActive);
        Assert.True((await Kit.IntrospectAsync(otherId, otherSecret, otherToken, "access_token")).IsActive);

        using (var response = await admin.PostAsync($"/api/admin/clients/{disabledId}/enable", null))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.False((await Kit.IntrospectAsync(disabledId, disabledSecret, disabledToken, "access_token")).IsActive);
    }
}
