using System.Net;
using System.Text.Json;
using Duende.IdentityModel.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Tests.Oidc;

public abstract partial class OidcProtocolTests
{
    [Fact]
    public async Task AuthorizationCode_PkceS256WithNonceAndState_TokensWithSessionClaims()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var disco = await Kit.DiscoveryAsync();
        var started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);

        // RFC 9207: the authorization response names the issuer.
        Assert.Equal(disco.Issuer, flow.Callback["iss"]);
        Assert.Equal("Bearer", flow.Tokens.TokenType);
        Assert.False(string.IsNullOrEmpty(flow.Tokens.RefreshToken), "offline_access was granted: a refresh token is due.");

        var idToken = flow.Tokens.IdentityToken!;
        var validation = await Kit.ValidateJwtAsync(idToken, client.ClientId, "JWT", "RS256");
        Assert.True(validation.IsValid, validation.Exception?.ToString());
        var claims = OidcKit.JwtPayload(idToken);
        Assert.Equal(disco.Issuer, claims.GetProperty("iss").GetString());
        Assert.Equal([client.ClientId], Strings(claims.GetProperty("aud")));
        Assert.Equal(user.Id, claims.GetProperty("sub").GetString());
        Assert.Equal(flow.Nonce, claims.GetProperty("nonce").GetString());
        Assert.False(string.IsNullOrEmpty(claims.GetProperty("sid").GetString()));

        // OIDC Core section 2: auth_time is a JSON number, amr a JSON array of strings.
        var authTime = claims.GetProperty("auth_time");
        Assert.Equal(JsonValueKind.Number, authTime.ValueKind);
        Assert.InRange(authTime.GetInt64(), started - 1, claims.GetProperty("iat").GetInt64());
        var amr = claims.GetProperty("amr");
        Assert.Equal(JsonValueKind.Array, amr.ValueKind);
        Assert.Equal(["pwd"], amr.EnumerateArray().Select(e => e.GetString()));

        // Personal claims of the granted scopes are in the ID token, not in the access token.
        Assert.Equal(user.DisplayName, claims.GetProperty("name").GetString());
        Assert.Equal(user.PhoneNumber, claims.GetProperty("phone_number").GetString());

        var accessToken = flow.Tokens.AccessToken!;
        Assert.True((await Kit.ValidateJwtAsync(accessToken, "identityhub", "at+jwt", "RS256")).IsValid);
        var access = OidcKit.JwtPayload(accessToken);
        Assert.Equal(user.Id, access.GetProperty("sub").GetString());
        Assert.Equal(client.ClientId, access.GetProperty("client_id").GetString());
        Assert.Equal(claims.GetProperty("sid").GetString(), access.GetProperty("sid").GetString());
        Assert.False(access.TryGetProperty("phone_number", out _));
        Assert.False(access.TryGetProperty("nonce", out _));
    }

    [Fact]
    public async Task UserInfo_ProfileAndPhoneScopes_ReturnsTheScopeClaimsOnly()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();

        var full = await Kit.CodeFlowAsync(browser, client, user, "openid profile phone");
        var info = await http.GetUserInfoAsync(new UserInfoRequest { Address = disco.UserInfoEndpoint, Token = full.Tokens.AccessToken });
        Assert.False(info.IsError, $"{info.Error} {info.Raw}");
        Assert.Equal(user.Id, info.Json?.GetProperty("sub").GetString());
        Assert.Equal(user.DisplayName, info.Json?.GetProperty("name").GetString());
        Assert.Equal(user.UserName, info.Json?.GetProperty("preferred_username").GetString());
        Assert.Equal(user.PhoneNumber, info.Json?.GetProperty("phone_number").GetString());
        Assert.Equal(JsonValueKind.False, info.Json?.GetProperty("phone_number_verified").ValueKind);

        var openIdOnly = await Kit.CodeFlowAsync(browser, client, user, "openid");
        var minimal = await http.GetUserInfoAsync(new UserInfoRequest { Address = disco.UserInfoEndpoint, Token = openIdOnly.Tokens.AccessToken });
        Assert.False(minimal.IsError, $"{minimal.Error} {minimal.Raw}");
        Assert.Equal(["sub"], minimal.Json?.EnumerateObject().Select(p => p.Name));
        Assert.Equal(user.Id, minimal.Json?.GetProperty("sub").GetString());
    }

    [Fact]
    public async Task UserInfo_PostWithBearerHeaderOrFormBody_SameClaims_NoTokenIsInvalidToken()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user, "openid profile");
        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();

        // OIDC Core section 5.3.1: POST is allowed; RFC 6750 section 2.1 (header) and 2.2 (form-encoded body parameter).
        using var header = new HttpRequestMessage(HttpMethod.Post, disco.UserInfoEndpoint) { Content = new FormUrlEncodedContent([]) };
        header.Headers.Authorization = new("Bearer", flow.Tokens.AccessToken);
        using var byHeader = await http.SendAsync(header);
        using var byBody = await http.PostAsync(disco.UserInfoEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["access_token"] = flow.Tokens.AccessToken!,
        }));
        using var without = await http.PostAsync(disco.UserInfoEndpoint, new FormUrlEncodedContent([]));

        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byBody.StatusCode);
        var viaHeader = JsonDocument.Parse(await byHeader.Content.ReadAsStringAsync()).RootElement;
        var viaBody = JsonDocument.Parse(await byBody.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(user.Id, viaHeader.GetProperty("sub").GetString());
        Assert.Equal(viaHeader.GetRawText(), viaBody.GetRawText());
        // RFC 6750 section 3: a request without a token is answered 401 with a WWW-Authenticate challenge.
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Contains(without.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Fact]
    public async Task TokenEndpoint_MissingCodeVerifier_InvalidRequest()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, _, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);

        var response = await Kit.RedeemCodeAsync(client, callback["code"]!, codeVerifier: null);

        // RFC 6749 section 5.2: a missing required parameter is invalid_request.
        Assert.True(response.IsError);
        Assert.Equal("invalid_request", response.Error);
        Assert.Contains("code_verifier", response.ErrorDescription, StringComparison.Ordinal);
        Assert.Null(response.AccessToken);
    }

    [Fact]
    public async Task TokenEndpoint_WrongCodeVerifier_InvalidGrant()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, _, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);

        var response = await Kit.RedeemCodeAsync(client, callback["code"]!, Pkce.Create().Verifier);

        // RFC 7636 section 4.6.
        Assert.True(response.IsError);
        Assert.Equal("invalid_grant", response.Error);
        Assert.Null(response.AccessToken);
        Assert.Null(response.IdentityToken);
    }

    [Fact]
    public async Task Authorize_PlainCodeChallengeMethod_RefusedBeforeSignIn()
    {
        var client = await Kit.RegisterWebClientAsync();
        var pkce = Pkce.Create();
        var state = OidcKit.UniqueId("state");
        var url = await Kit.AuthorizeUrlAsync(client, pkce with { Challenge = pkce.Verifier }, state, codeChallengeMethod: "plain");

        // No credentials: had the server accepted the request, the browser would stop on the sign-in page.
        var callback = await OidcKit.AuthorizeToCallbackAsync(NewBrowser(), url, user: null, client.RedirectUri);

        // RFC 7636 section 4.4.1: the authorization error response, on the (registered) redirect_uri.
        Assert.Equal("invalid_request", callback["error"]);
        Assert.Contains("code_challenge_method", callback["error_description"], StringComparison.Ordinal);
        Assert.Equal(state, callback["state"]);
        Assert.Equal((await Kit.DiscoveryAsync()).Issuer, callback["iss"]);
        Assert.Null(callback["code"]);
    }

    [Fact]
    public async Task Authorize_MissingCodeChallenge_RefusedBeforeSignIn()
    {
        var client = await Kit.RegisterWebClientAsync();
        var state = OidcKit.UniqueId("state");
        var url = await Kit.AuthorizeUrlAsync(client, pkce: null, state, nonce: OidcKit.UniqueId("nonce"));

        var callback = await OidcKit.AuthorizeToCallbackAsync(NewBrowser(), url, user: null, client.RedirectUri);

        Assert.Equal("invalid_request", callback["error"]);
        Assert.Contains("code_challenge", callback["error_description"], StringComparison.Ordinal);
        Assert.Equal(state, callback["state"]);
        Assert.Null(callback["code"]);
    }

    /// <summary>
    /// RFC 6749 section 4.1.2.1 and RFC 9700 section 4.1.3: a redirect_uri that is not exactly a registered
    /// one is never redirected to; the person sees the server's own error page instead.
    /// </summary>
    [Theory]
    [InlineData("unregistered")]
    [InlineData("path-suffix")]
    [InlineData("appended-characters")]
    [InlineData("path-prefix")]
    [InlineData("trailing-slash")]
    [InlineData("extra-query")]
    [InlineData("host-suffix")]
    [InlineData("http-downgrade")]
    [InlineData("path-case")]
    [InlineData("loopback-not-registered")]
    public async Task Authorize_RedirectUriNotRegistered_ErrorPageWithoutRedirect(string variant)
    {
        var client = await Kit.RegisterWebClientAsync();
        var registered = new Uri(client.RedirectUri);
        var redirectUri = variant switch
        {
            "unregistered" => "https://attacker.example/signin-oidc",
            "path-suffix" => client.RedirectUri + "/more",
            "appended-characters" => client.RedirectUri + "x",
            "path-prefix" => client.RedirectUri[..^"-oidc".Length],
            "trailing-slash" => client.RedirectUri + "/",
            "extra-query" => client.RedirectUri + "?next=%2F",
            "host-suffix" => $"https://{registered.Host}.attacker.example{registered.AbsolutePath}",
            "http-downgrade" => "http://" + client.RedirectUri["https://".Length..],
            "path-case" => $"https://{registered.Host}{registered.AbsolutePath.ToUpperInvariant()}",
            "loopback-not-registered" => "http://127.0.0.1:8765/signin-oidc",
            _ => throw new ArgumentOutOfRangeException(nameof(variant)),
        };
        Assert.NotEqual(client.RedirectUri, redirectUri);
        var url = await Kit.AuthorizeUrlAsync(client, Pkce.Create(), OidcKit.UniqueId("state"), OidcKit.UniqueId("nonce"), redirectUri: redirectUri);

        using var http = Server.CreateHttpClient(followRedirects: false);
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<code id=\"error-code\">invalid_request</code>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_UnknownClientId_ErrorPageWithoutRedirect()
    {
        var client = await Kit.RegisterWebClientAsync();
        var url = await Kit.AuthorizeUrlAsync(client with { ClientId = OidcKit.UniqueId("unknown") }, Pkce.Create(), OidcKit.UniqueId("state"));

        using var http = Server.CreateHttpClient(followRedirects: false);
        using var response = await http.GetAsync(url);

        // RFC 6749 section 4.1.2.1: without a valid client there is no trusted redirect_uri.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("<code id=\"error-code\">invalid_request</code>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_LoopbackHttpRedirect_AcceptedOnlyWhereRegistered()
    {
        // RFC 8252 section 7.3: a native app (public client) receiving the code on the loopback interface.
        const string loopback = "http://127.0.0.1:8765/callback";
        var native = await Kit.RegisterWebClientAsync([loopback], clientType: "public");
        Assert.Null(native.Secret);
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();

        var flow = await Kit.CodeFlowAsync(browser, native, user);
        Assert.Equal(user.Id, OidcKit.JwtPayload(flow.Tokens.IdentityToken!).GetProperty("sub").GetString());

        // The same person, signed in, cannot get a code sent to a loopback URI that a client did not register.
        foreach (var (client, redirectUri) in new[]
                 {
                     (await Kit.RegisterWebClientAsync(), loopback),
                     (native, "http://localhost:8765/callback"),
                     (native, "http://127.0.0.1:8765/other"),
                 })
        {
            var url = await Kit.AuthorizeUrlAsync(client, Pkce.Create(), OidcKit.UniqueId("state"), redirectUri: redirectUri);
            var outcome = await browser.AuthorizeAsync(url);
            Assert.Null(outcome.Callback);
            Assert.Equal(HttpStatusCode.BadRequest, outcome.FinalStatus);
            Assert.Contains("<code id=\"error-code\">invalid_request</code>", outcome.FinalBody, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AuthorizationCode_RedeemedTwice_InvalidGrantAndFirstTokensRevoked()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var first = await Kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(first.IsError, $"{first.Error} {first.ErrorDescription}");
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, first.AccessToken!, "access_token")).IsActive);

        var second = await Kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);

        // RFC 6749 section 4.1.2: the code is single-use, and tokens issued from it should be revoked.
        Assert.True(second.IsError);
        Assert.Equal("invalid_grant", second.Error);
        Assert.Null(second.AccessToken);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, first.AccessToken!, "access_token")).IsActive);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, first.RefreshToken!, "refresh_token")).IsActive);
        Assert.Equal("invalid_grant", (await Kit.RefreshAsync(client, first.RefreshToken!)).Error);
    }

    /// <summary>
    /// A code's token entry is written once, complete (CodeEntryInOneInsert): its payload, the SHA-256 of the code as its
    /// reference (the code itself is not stored), its application, authorization, subject, dates and status; its ad-hoc
    /// authorization and the session participant naming it are both there; the code is redeemed through the entry once,
    /// and the entry then says so.
    /// </summary>
    [Fact]
    public async Task AuthorizationCode_EntryWrittenWithPayloadAndHashedReference_SessionParticipant_RedeemedOnce()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var code = callback["code"]!;
        // OpenIddict's reference ids: 256 random bits, base64url.
        Assert.Equal(43, code.Length);

        var entry = Assert.Single(await CodeEntriesAsync(client.ClientId));
        Assert.Equal(Statuses.Valid, entry.Status);
        Assert.False(string.IsNullOrEmpty(entry.Payload));
        Assert.DoesNotContain(code, entry.Payload!, StringComparison.Ordinal);
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(code))), entry.ReferenceId);
        Assert.False(string.IsNullOrEmpty(entry.AuthorizationId));
        Assert.False(string.IsNullOrEmpty(entry.Subject));
        Assert.NotNull(entry.CreationDate);
        Assert.InRange(entry.ExpirationDate!.Value - entry.CreationDate!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        Assert.Null(entry.RedemptionDate);
        // The ad-hoc authorization the code hangs from and the session participant naming it, written by one save
        // (SessionService.JoinAsync): the app is a participant of the session under that authorization and sub.
        string sessionId;
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Server.Data.IdentityHubDbContext>();
            var authorization = await db.Set<Server.Registry.HubAuthorization>().AsNoTracking()
                .Where(a => a.Id == entry.AuthorizationId)
                .Select(a => new { a.Status, a.Type, a.Subject, ClientId = a.Application!.ClientId })
                .SingleAsync();
            Assert.Equal((Statuses.Valid, AuthorizationTypes.AdHoc, entry.Subject, client.ClientId),
                (authorization.Status, authorization.Type, authorization.Subject, authorization.ClientId));
            var participant = await db.Set<Server.Sessions.SessionParticipant>().AsNoTracking()
                .SingleAsync(p => p.AuthorizationId == entry.AuthorizationId);
            Assert.Equal((client.ClientId, entry.Subject), (participant.ClientId, participant.Subject));
            sessionId = participant.SessionId;
        }

        var tokens = await Kit.RedeemCodeAsync(client, code, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
        Assert.Equal(entry.Subject, OidcKit.JwtPayload(tokens.AccessToken!).GetProperty("sub").GetString());
        Assert.Equal(sessionId, OidcKit.JwtPayload(tokens.IdentityToken!).GetProperty("sid").GetString());
        var redeemed = Assert.Single(await CodeEntriesAsync(client.ClientId));
        Assert.Equal(entry.Id, redeemed.Id);
        Assert.Equal(Statuses.Redeemed, redeemed.Status);
        Assert.NotNull(redeemed.RedemptionDate);
        Assert.Equal("invalid_grant", (await Kit.RedeemCodeAsync(client, code, pkce.Verifier)).Error);
    }

    private sealed record CodeEntry(string Id, string? Status, string? Payload, string? ReferenceId, string? AuthorizationId, string? Subject,
        DateTime? CreationDate, DateTime? ExpirationDate, DateTime? RedemptionDate);

    private async Task<List<CodeEntry>> CodeEntriesAsync(string clientId)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Server.Data.IdentityHubDbContext>();
        return await db.Set<Server.Registry.HubToken>().AsNoTracking()
            .Where(t => t.Application!.ClientId == clientId && t.Type == TokenTypeIdentifiers.Private.AuthorizationCode)
            .Select(t => new CodeEntry(t.Id!, t.Status, t.Payload, t.ReferenceId, t.Authorization != null ? t.Authorization.Id : null, t.Subject,
                t.CreationDate, t.ExpirationDate, t.RedemptionDate))
            .ToListAsync();
    }

    [Fact]
    public async Task PushedAuthorization_RequestUri_CompletesCodeFlowOnce()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var disco = await Kit.DiscoveryAsync();
        var pkce = Pkce.Create();
        var state = OidcKit.UniqueId("state");
        var nonce = OidcKit.UniqueId("nonce");

        using var http = Server.CreateHttpClient();
        var pushed = await http.PushAuthorizationAsync(new PushedAuthorizationRequest
        {
            Address = disco.PushedAuthorizationRequestEndpoint,
            ClientId = client.ClientId,
            ClientSecret = client.Secret,
            ResponseType = "code",
            Scope = OidcKit.WebScopes,
            RedirectUri = client.RedirectUri,
            State = state,
            Nonce = nonce,
            CodeChallenge = pkce.Challenge,
            CodeChallengeMethod = "S256",
        });
        Assert.False(pushed.IsError, $"{pushed.Error} {pushed.Raw}");
        Assert.Equal(HttpStatusCode.Created, pushed.HttpStatusCode);
        Assert.StartsWith("urn:ietf:params:oauth:request_uri:", pushed.RequestUri, StringComparison.Ordinal);
        Assert.True(pushed.ExpiresIn > 0);

        // RFC 9126 section 4: the authorize request carries only client_id and request_uri.
        var url = $"{disco.AuthorizeEndpoint}?client_id={Uri.EscapeDataString(client.ClientId)}&request_uri={Uri.EscapeDataString(pushed.RequestUri!)}";
        var browser = NewBrowser();
        var callback = await OidcKit.AuthorizeToCallbackAsync(browser, url, user, client.RedirectUri);
        Assert.Null(callback["error"]);
        Assert.Equal(state, callback["state"]);
        var tokens = await Kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
        Assert.Equal(nonce, OidcKit.JwtPayload(tokens.IdentityToken!).GetProperty("nonce").GetString());

        // RFC 9126 section 4: request_uri values are one-time use.
        var again = await browser.AuthorizeAsync(url);
        Assert.Null(again.Callback);
        Assert.Equal(HttpStatusCode.BadRequest, again.FinalStatus);
    }
}
