using System.Net;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Oidc;

public abstract partial class OidcProtocolTests
{
    private async Task<TokenResponse> ClientCredentialsAsync(string clientId, string secret,
        ClientCredentialStyle style = ClientCredentialStyle.AuthorizationHeader)
    {
        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();
        return await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = disco.TokenEndpoint,
            ClientId = clientId,
            ClientSecret = secret,
            ClientCredentialStyle = style,
        });
    }

    private async Task<TokenRevocationResponse> RevokeAsync(string clientId, string? secret, string token, string tokenTypeHint)
    {
        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();
        return await http.RevokeTokenAsync(new TokenRevocationRequest
        {
            Address = disco.RevocationEndpoint,
            ClientId = clientId,
            ClientSecret = secret,
            Token = token,
            TokenTypeHint = tokenTypeHint,
        });
    }

    /// <summary>A JWT claim that may be a string or an array of strings (aud), as strings.</summary>
    private static string[] Strings(JsonElement claim) => claim.ValueKind == JsonValueKind.Array
        ? [.. claim.EnumerateArray().Select(e => e.GetString()!)]
        : [claim.GetString()!];

    [Fact]
    public async Task ClientCredentials_ValidSecret_Rfc9068AccessTokenVerifiableAgainstJwks()
    {
        var (clientId, secret) = await Kit.RegisterServiceClientAsync();
        var disco = await Kit.DiscoveryAsync();

        var response = await ClientCredentialsAsync(clientId, secret);

        Assert.False(response.IsError, $"{response.Error} {response.ErrorDescription}");
        Assert.Equal("Bearer", response.TokenType);
        Assert.InRange(response.ExpiresIn, 1, 15 * 60);
        // RFC 6749 section 4.4.3: no refresh token for client credentials.
        Assert.Null(response.RefreshToken);

        var token = response.AccessToken!;
        var header = OidcKit.JwtHeader(token);
        Assert.Equal("at+jwt", header.GetProperty("typ").GetString());
        Assert.Equal("RS256", header.GetProperty("alg").GetString());
        var validation = await Kit.ValidateJwtAsync(token, "identityhub", "at+jwt", "RS256");
        Assert.True(validation.IsValid, validation.Exception?.ToString());

        // RFC 9068 section 2.2: iss, exp, aud, sub, client_id, iat, jti.
        var payload = OidcKit.JwtPayload(token);
        Assert.Equal(disco.Issuer, payload.GetProperty("iss").GetString());
        Assert.Equal(["identityhub"], Strings(payload.GetProperty("aud")));
        Assert.Equal(clientId, payload.GetProperty("sub").GetString());
        Assert.Equal(clientId, payload.GetProperty("client_id").GetString());
        Assert.False(string.IsNullOrEmpty(payload.GetProperty("jti").GetString()));
        var iat = payload.GetProperty("iat").GetInt64();
        var exp = payload.GetProperty("exp").GetInt64();
        // The configured access token lifetime (Oidc:AccessTokenLifetime, 15 minutes).
        Assert.Equal(15 * 60, exp - iat);
    }

    [Fact]
    public async Task Introspection_AccessToken_ActiveBeforeRevocationInactiveAfter()
    {
        var (clientId, secret) = await Kit.RegisterServiceClientAsync();
        var token = (await ClientCredentialsAsync(clientId, secret)).AccessToken!;

        var before = await Kit.IntrospectAsync(clientId, secret, token, "access_token");
        Assert.True(before.IsActive, before.Raw);
        Assert.Equal(clientId, before.ClientId);
        Assert.Equal(clientId, before.Subject);
        Assert.Equal((await Kit.DiscoveryAsync()).Issuer, before.Issuer);

        var revocation = await RevokeAsync(clientId, secret, token, "access_token");
        Assert.False(revocation.IsError, $"{revocation.Error} {revocation.Raw}");
        Assert.Equal(HttpStatusCode.OK, revocation.HttpStatusCode);

        var after = await Kit.IntrospectAsync(clientId, secret, token, "access_token");
        Assert.False(after.IsActive, after.Raw);
        // RFC 7662 section 2.2: an inactive token reveals nothing more.
        Assert.Equal(["active"], after.Json?.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData(ClientCredentialStyle.AuthorizationHeader)]
    [InlineData(ClientCredentialStyle.PostBody)]
    public async Task ClientCredentials_WrongSecret_InvalidClient(ClientCredentialStyle style)
    {
        var (clientId, secret) = await Kit.RegisterServiceClientAsync();

        var response = await ClientCredentialsAsync(clientId, secret + "x", style);

        Assert.True(response.IsError);
        // Duende reports a 401 as an HTTP error: read the protocol error from the JSON body.
        Assert.Equal("invalid_client", response.TryGet("error"));
        Assert.Null(response.AccessToken);
        if (style == ClientCredentialStyle.AuthorizationHeader)
        {
            // RFC 6749 section 5.2: a client that authenticated with the Authorization header gets 401 and a challenge.
            Assert.Equal(HttpStatusCode.Unauthorized, response.HttpStatusCode);
            Assert.Contains(response.HttpResponse!.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        }
        else
        {
            Assert.True(response.HttpStatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized, response.HttpStatusCode.ToString());
        }
    }

    [Fact]
    public async Task AuthorizationCode_WrongClientSecret_InvalidClient()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);

        var wrong = await Kit.RedeemCodeAsync(client with { Secret = client.Secret + "x" }, callback["code"]!, pkce.Verifier);

        Assert.True(wrong.IsError);
        Assert.Equal("invalid_client", wrong.TryGet("error"));
        Assert.Null(wrong.AccessToken);
    }

    [Fact]
    public async Task RefreshToken_EachUse_RotatedAndPreviousOneRefused()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var first = flow.Tokens.RefreshToken;
        Assert.False(string.IsNullOrEmpty(first));

        var second = await Kit.RefreshAsync(client, first!);
        Assert.False(second.IsError, $"{second.Error} {second.ErrorDescription}");
        Assert.False(string.IsNullOrEmpty(second.RefreshToken));
        Assert.NotEqual(first, second.RefreshToken);
        Assert.NotEqual(flow.Tokens.AccessToken, second.AccessToken);
        Assert.Equal(user.Id, OidcKit.JwtPayload(second.AccessToken!).GetProperty("sub").GetString());

        // OIDC Core section 12.2: a refreshed ID token keeps iss, sub, aud and the original auth_time.
        var original = OidcKit.JwtPayload(flow.Tokens.IdentityToken!);
        var refreshed = OidcKit.JwtPayload(second.IdentityToken!);
        Assert.True((await Kit.ValidateJwtAsync(second.IdentityToken!, client.ClientId, "JWT", "RS256")).IsValid);
        foreach (var claim in new[] { "sub", "sid", "auth_time" })
        {
            Assert.Equal(original.GetProperty(claim).GetRawText(), refreshed.GetProperty(claim).GetRawText());
        }

        var third = await Kit.RefreshAsync(client, second.RefreshToken!);
        Assert.False(third.IsError, $"{third.Error} {third.ErrorDescription}");
        Assert.NotEqual(second.RefreshToken, third.RefreshToken);

        var replayed = await Kit.RefreshAsync(client, first!);
        Assert.True(replayed.IsError);
        Assert.Equal("invalid_grant", replayed.Error);
        Assert.Null(replayed.AccessToken);
    }

    [Fact]
    public async Task RefreshToken_AccountLockedOutSinceTheGrant_Refused()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var rotated = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(rotated.IsError, $"{rotated.Error} {rotated.ErrorDescription}");

        // Accounts:MaxFailedAccessAttempts (5) wrong passwords lock the account; the token endpoint re-reads it at every refresh.
        for (var i = 0; i < 5; i++)
        {
            Assert.False((await new LoginForm(Server).SignInAsync(user.UserName, "Wrong-Horse-" + i)).SessionCookieIssued);
        }

        var refused = await Kit.RefreshAsync(client, rotated.RefreshToken!);

        Assert.Equal("invalid_grant", refused.Error);
        Assert.Null(refused.AccessToken);
    }

    [Fact]
    public async Task RefreshToken_RedeemedOneReusedWhileTheAccountIsLockedOut_GrantRevokedAllTheSame()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        // The attacker redeems the stolen token first ...
        var stolen = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(stolen.IsError, $"{stolen.Error} {stolen.ErrorDescription}");

        // ... and locks the account on purpose (Accounts:MaxFailedAccessAttempts wrong passwords), so that the legitimate
        // client's replay of the redeemed token is refused for the lockout before its redemption is tried.
        for (var i = 0; i < 5; i++)
        {
            Assert.False((await new LoginForm(Server).SignInAsync(user.UserName, "Wrong-Horse-" + i)).SessionCookieIssued);
        }

        var replayed = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.Equal("invalid_grant", replayed.Error);

        // RFC 9700 section 4.14.2: the reuse still revokes the grant; the attacker's rotated token is dead at once.
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, stolen.RefreshToken!, "refresh_token")).IsActive);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, stolen.AccessToken!, "access_token")).IsActive);
    }

    [Fact]
    public async Task RefreshToken_RedeemedOneReused_WholeGrantRevoked()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var rotated = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(rotated.IsError, $"{rotated.Error} {rotated.ErrorDescription}");
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, rotated.RefreshToken!, "refresh_token")).IsActive);
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, rotated.AccessToken!, "access_token")).IsActive);

        // RFC 9700 section 4.14.2: the redeemed refresh token comes back (stolen and replayed).
        var reuse = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.True(reuse.IsError);
        Assert.Equal("invalid_grant", reuse.Error);

        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, rotated.RefreshToken!, "refresh_token")).IsActive);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, rotated.AccessToken!, "access_token")).IsActive);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, flow.Tokens.AccessToken!, "access_token")).IsActive);
        // Access tokens have no entries: the authorization's cutoff refuses them at userinfo too (RFC 6750 section 3.1).
        Assert.Equal(HttpStatusCode.Unauthorized, (await UserInfoAsync(rotated.AccessToken!)).HttpStatusCode);
        var legitimate = await Kit.RefreshAsync(client, rotated.RefreshToken!);
        Assert.Equal("invalid_grant", legitimate.Error);
    }

    [Fact]
    public async Task RefreshToken_PresentedConcurrently_ExactlyOneRedemptionAndTheGrantRevoked()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);

        // The same refresh token in several requests at once (a stolen copy used alongside the client): each may pass
        // validation before any has redeemed it, but the redemption is one conditional UPDATE, so exactly one request
        // gets new tokens and every other one is reuse (RFC 9700 section 4.14.2), which revokes the whole grant.
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Kit.RefreshAsync(client, flow.Tokens.RefreshToken!)));

        var winner = Assert.Single(responses, r => !r.IsError);
        Assert.All(responses.Where(r => r.IsError), r => Assert.Equal("invalid_grant", r.Error));
        Assert.False(string.IsNullOrEmpty(winner.RefreshToken));
        Assert.Equal("invalid_grant", (await Kit.RefreshAsync(client, winner.RefreshToken!)).Error);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, winner.RefreshToken!, "refresh_token")).IsActive);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, winner.AccessToken!, "access_token")).IsActive);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, flow.Tokens.AccessToken!, "access_token")).IsActive);
    }

    [Fact]
    public async Task RefreshToken_NarrowedWithoutOfflineAccess_NoNewRefreshTokenAndThePresentedOneIsRedeemed()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);

        // RFC 6749 section 6: the request narrows the scopes and leaves offline_access out, so the response carries no
        // new refresh token. The presented one is redeemed all the same (on its own: with a new refresh token, the
        // redemption and the new entry go in one command), so presenting it again is reuse (RFC 9700 section 4.14.2).
        var disco = await Kit.DiscoveryAsync();
        using var http = Server.CreateHttpClient();
        var narrowed = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = disco.TokenEndpoint,
            ClientId = client.ClientId,
            ClientSecret = client.Secret,
            RefreshToken = flow.Tokens.RefreshToken!,
            Scope = "openid profile",
        });
        Assert.False(narrowed.IsError, $"{narrowed.Error} {narrowed.ErrorDescription}");
        Assert.Null(narrowed.RefreshToken);
        Assert.False(string.IsNullOrEmpty(narrowed.IdentityToken));
        // The granted scopes are the requested ones (so the response may leave "scope" out: RFC 6749 section 5.1).
        Assert.Equal(["openid", "profile"], OidcKit.JwtPayload(narrowed.AccessToken!).GetProperty("scope").GetString()!.Split(' ').Order());
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, narrowed.AccessToken!, "access_token")).IsActive);

        var reuse = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.Equal("invalid_grant", reuse.Error);
        Assert.False((await Kit.IntrospectAsync(client.ClientId, client.Secret, narrowed.AccessToken!, "access_token")).IsActive);
    }

    [Fact]
    public async Task RefreshToken_ItsAuthorizationRevokedAlone_RefusedAndTheTokenStaysUnredeemed()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var rotated = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(rotated.IsError, $"{rotated.Error} {rotated.ErrorDescription}");

        // Only the authorization is revoked (its token entries stay valid): the refresh grant does not read the entry
        // before redeeming it, so the redemption itself must refuse a token whose authorization is no longer valid
        // (OpenIddict's ValidateAuthorizationEntry; OpenID Connect Core section 12.2: a refresh needs a live grant).
        string authorizationId;
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var tokens = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();
            var authorizations = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictAuthorizationManager>();
            var subject = OidcKit.JwtPayload(rotated.AccessToken!).GetProperty("sub").GetString()!;
            string? found = null;
            await foreach (var entry in tokens.FindBySubjectAsync(subject))
            {
                if (await tokens.GetStatusAsync(entry) == OpenIddict.Abstractions.OpenIddictConstants.Statuses.Valid
                    && await tokens.GetTypeAsync(entry) == OpenIddict.Abstractions.OpenIddictConstants.TokenTypeIdentifiers.RefreshToken)
                {
                    found = await tokens.GetAuthorizationIdAsync(entry);
                }
            }

            authorizationId = Assert.IsType<string>(found);
            var authorization = await authorizations.FindByIdAsync(authorizationId);
            Assert.True(await authorizations.TryRevokeAsync(authorization!));
        }

        var refused = await Kit.RefreshAsync(client, rotated.RefreshToken!);
        Assert.Equal("invalid_grant", refused.Error);
        Assert.Null(refused.AccessToken);
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            // Refused, not redeemed: the entry is still valid (no reuse), under the revoked authorization.
            var tokens = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();
            var statuses = new List<string?>();
            await foreach (var entry in tokens.FindByAuthorizationIdAsync(authorizationId))
            {
                if (await tokens.GetTypeAsync(entry) == OpenIddict.Abstractions.OpenIddictConstants.TokenTypeIdentifiers.RefreshToken)
                {
                    statuses.Add(await tokens.GetStatusAsync(entry));
                }
            }

            Assert.Equal([OpenIddict.Abstractions.OpenIddictConstants.Statuses.Redeemed, OpenIddict.Abstractions.OpenIddictConstants.Statuses.Valid],
                statuses.Order());
        }
    }

    [Fact]
    public async Task RefreshToken_Rotated_OldEntryRedeemedNewEntryValidUnderTheSameAuthorization()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        var rotated = await Kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(rotated.IsError, $"{rotated.Error} {rotated.ErrorDescription}");
        var subject = OidcKit.JwtPayload(rotated.AccessToken!).GetProperty("sub").GetString()!;

        // The entries as OpenIddict's own store reads them (a new account: its only refresh tokens): the redeemed one
        // with its redemption date, the new one valid, for the same client, subject and authorization, with the
        // refresh token's lifetime.
        await using var scope = Server.Services.CreateAsyncScope();
        var tokens = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();
        var applications = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictApplicationManager>();
        var entries = new List<(object Entry, string? Status)>();
        await foreach (var entry in tokens.FindBySubjectAsync(subject))
        {
            if (await tokens.GetTypeAsync(entry) == OpenIddict.Abstractions.OpenIddictConstants.TokenTypeIdentifiers.RefreshToken)
            {
                entries.Add((entry, await tokens.GetStatusAsync(entry)));
            }
        }

        Assert.Equal(2, entries.Count);
        var redeemed = Assert.Single(entries, e => e.Status == OpenIddict.Abstractions.OpenIddictConstants.Statuses.Redeemed).Entry;
        var issued = Assert.Single(entries, e => e.Status == OpenIddict.Abstractions.OpenIddictConstants.Statuses.Valid).Entry;
        Assert.NotNull(await tokens.GetRedemptionDateAsync(redeemed));
        Assert.Null(await tokens.GetRedemptionDateAsync(issued));
        Assert.NotNull(await tokens.GetAuthorizationIdAsync(issued));
        Assert.Equal(await tokens.GetAuthorizationIdAsync(redeemed), await tokens.GetAuthorizationIdAsync(issued));
        Assert.Equal(subject, await tokens.GetSubjectAsync(issued));
        var application = await applications.FindByClientIdAsync(client.ClientId);
        Assert.Equal(await applications.GetIdAsync(application!), await tokens.GetApplicationIdAsync(issued));
        var created = await tokens.GetCreationDateAsync(issued);
        var expires = await tokens.GetExpirationDateAsync(issued);
        Assert.NotNull(created);
        Assert.NotNull(expires);
        Assert.InRange(created.Value, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.True(expires > created.Value.AddDays(1));
    }
    /// <summary>The JOSE header of a compact JWE (five segments).</summary>
    private static JsonElement JweHeader(string jwe)
    {
        var segments = jwe.Split('.');
        Assert.Equal(5, segments.Length);
        return JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(segments[0])).RootElement.Clone();
    }

    [Fact]
    public async Task ServerOnlyTokens_SymmetricallyProtected_IdAndAccessTokensStayRs256FromJwks()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var code = callback["code"]!;

        // The code and the refresh token are read only by this server: direct encryption with AES-CBC-HMAC (RFC 7518
        // sections 4.5 and 5.2.5) under a key derived from the encryption certificate, no RSA and no key wrap. The code is a
        // reference: the protected token is the stored payload it points to.
        string codePayload;
        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var entries = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();
            var entry = await entries.FindByReferenceIdAsync(code);
            Assert.NotNull(entry);
            codePayload = (await entries.GetPayloadAsync(entry))!;
        }

        var codeHeader = JweHeader(codePayload);
        Assert.Equal("dir", codeHeader.GetProperty("alg").GetString());
        Assert.Equal("A256CBC-HS512", codeHeader.GetProperty("enc").GetString());

        var tokens = await Kit.RedeemCodeAsync(client, code, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
        var refreshHeader = JweHeader(tokens.RefreshToken!);
        Assert.Equal("dir", refreshHeader.GetProperty("alg").GetString());
        Assert.Equal("A256CBC-HS512", refreshHeader.GetProperty("enc").GetString());

        // What clients and APIs validate stays signed with the published asymmetric key, also after a refresh.
        var refreshed = await Kit.RefreshAsync(client, tokens.RefreshToken!);
        Assert.False(refreshed.IsError, $"{refreshed.Error} {refreshed.ErrorDescription}");
        foreach (var response in new[] { tokens, refreshed })
        {
            Assert.True((await Kit.ValidateJwtAsync(response.IdentityToken!, client.ClientId, "JWT", "RS256")).IsValid);
            Assert.True((await Kit.ValidateJwtAsync(response.AccessToken!, "identityhub", "at+jwt", "RS256")).IsValid);
        }

        Assert.Equal("dir", JweHeader(refreshed.RefreshToken!).GetProperty("alg").GetString());
        Assert.True((await Kit.IntrospectAsync(client.ClientId, client.Secret, refreshed.RefreshToken!, "refresh_token")).IsActive);

        // The symmetric keys are never published, nor their algorithm advertised.
        var jwks = await Kit.JwksAsync();
        Assert.NotEmpty(jwks.Keys);
        Assert.All(jwks.Keys, key => Assert.NotEqual("oct", key.Kty));
        var disco = await Kit.DiscoveryAsync();
        // The published keys' algorithms only (RS256, and ES256 for clients that register it): never HS256.
        Assert.Equal(["RS256", "ES256"], disco.IdTokenSigningAlgorithmsSupported);
    }

    [Fact]
    public async Task ServerOnlyTokens_RefreshTokenIssuedWithKeyWrapBefore_StillRedeemedOnceAndRotatedToDirect()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var tokens = await Kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");

        // The same signed refresh token as a server before direct encryption protected it: its JWS inside a JWE with
        // A256KW + A256CBC-HS512 (RFC 7518 section 4.4) under the key-wrap key derived from the same certificate.
        var keys = Server.Services.GetRequiredService<IdentityHub.Server.Oidc.ServerOnlyTokenKeys>();
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
        var issued = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(tokens.RefreshToken!);
        var jws = handler.DecryptToken(issued, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
        {
            TokenDecryptionKeys = keys.EncryptionKeys,
        });
        var keyWrap = Assert.Single(keys.EncryptionKeys, k => k.KeyId!.EndsWith(".kw", StringComparison.Ordinal));
        var legacy = handler.EncryptToken(jws, new Microsoft.IdentityModel.Tokens.EncryptingCredentials(keyWrap,
            Microsoft.IdentityModel.Tokens.SecurityAlgorithms.Aes256KW, Microsoft.IdentityModel.Tokens.SecurityAlgorithms.Aes256CbcHmacSha512));
        Assert.Equal("A256KW", JweHeader(legacy).GetProperty("alg").GetString());

        var refreshed = await Kit.RefreshAsync(client, legacy);
        Assert.False(refreshed.IsError, $"{refreshed.Error} {refreshed.ErrorDescription}");
        Assert.Equal("dir", JweHeader(refreshed.RefreshToken!).GetProperty("alg").GetString());
        Assert.True((await Kit.ValidateJwtAsync(refreshed.IdentityToken!, client.ClientId, "JWT", "RS256")).IsValid);

        // The legacy token is the same token (same id): it was redeemed, so presenting it, or the original, again is reuse.
        var again = await Kit.RefreshAsync(client, tokens.RefreshToken!);
        Assert.Equal("invalid_grant", again.Error);
        Assert.Equal("invalid_grant", (await Kit.RefreshAsync(client, refreshed.RefreshToken!)).Error);
    }
}
