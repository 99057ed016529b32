using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Sessions;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// Per-client token signing algorithms (Oidc/TokenSigning): a client registered with id_token_signed_response_alg
/// (OpenID Connect Dynamic Client Registration 1.0 section 2) and access_token_signed_response_alg gets its ID tokens,
/// logout tokens and access tokens signed with them, by every path that issues them (the code and refresh grants'
/// fast paths and OpenIddict's normal path, client credentials), each token valid against the published JWKS; a client
/// that registered nothing keeps the server's default (RS256); a client whose registered algorithm has no key gets no
/// token of another algorithm.
/// </summary>
public abstract partial class OidcProtocolTests
{
    /// <summary>Registers a web client (code + refresh, an ID token with each refresh) with the given algorithms; null leaves a member out.</summary>
    private static async Task<WebClient> RegisterWebClientWithAlgorithmsAsync(OidcKit kit, string? idToken, string? accessToken,
        bool idTokenOnRefresh = true)
    {
        var clientId = OidcKit.UniqueId("alg");
        var baseUri = $"https://{clientId}.apps.test";
        await kit.Admin.CreateDepartmentAsync("test");
        using var response = await kit.Admin.PostAsync("/api/admin/clients", new Dictionary<string, object?>
        {
            ["clientId"] = clientId,
            ["departmentCode"] = "test",
            ["displayName"] = "Test client " + clientId,
            ["clientType"] = "confidential",
            ["grantTypes"] = new[] { "authorization_code", "refresh_token" },
            ["redirectUris"] = new[] { baseUri + "/signin-oidc" },
            ["postLogoutRedirectUris"] = new[] { baseUri + "/signout-callback-oidc" },
            ["scopes"] = new[] { "openid", "profile", "phone", "offline_access" },
            ["subjectType"] = "public",
            ["idTokenSignedResponseAlg"] = idToken,
            ["accessTokenSignedResponseAlg"] = accessToken,
            // Its refreshes return ID tokens too (not the default: RefreshIdTokens), whose algorithm these tests check.
            ["idTokenOnRefresh"] = idTokenOnRefresh,
        });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        var secret = JsonDocument.Parse(text).RootElement.GetProperty("clientSecret").GetString();
        return new WebClient(clientId, secret, baseUri + "/signin-oidc", baseUri + "/signout-callback-oidc");
    }

    /// <summary>Asserts a JWT's alg, that its kid is a published key of that algorithm, and that it validates against JWKS.</summary>
    private async Task AssertSignedWithAsync(string jwt, string algorithm, string audience, string type)
    {
        var header = OidcKit.JwtHeader(jwt);
        Assert.Equal(algorithm, header.GetProperty("alg").GetString());
        var jwks = await Kit.JwksAsync();
        var key = Assert.Single(jwks.Keys, k => k.Kid == header.GetProperty("kid").GetString());
        Assert.Equal(algorithm, key.Alg);
        Assert.Equal(algorithm == "ES256" ? "EC" : "RSA", key.Kty);
        var validation = await Kit.ValidateJwtAsync(jwt, audience, type, algorithm);
        Assert.True(validation.IsValid, validation.Exception?.ToString());
    }

    /// <summary>at_hash: the left half of SHA-256 of the access token (OpenID Connect Core 1.0 section 3.1.3.6; SHA-256 for RS256 and ES256).</summary>
    private static void AssertAccessTokenHash(string idToken, string accessToken)
    {
        var digest = SHA256.HashData(Encoding.ASCII.GetBytes(accessToken));
        Assert.Equal(Base64UrlEncoder.Encode(digest, 0, 16), OidcKit.JwtPayload(idToken).GetProperty("at_hash").GetString());
    }

    [Fact]
    public async Task SigningAlgorithms_DiscoveryAndJwks_OfferBothAlgorithms_Rs256First()
    {
        var disco = await Kit.DiscoveryAsync();
        Assert.Equal(["RS256", "ES256"], disco.IdTokenSigningAlgorithmsSupported);
        var jwks = await Kit.JwksAsync();
        Assert.Contains(jwks.Keys, k => k is { Kty: "RSA", Alg: "RS256", Use: "sig" });
        Assert.Contains(jwks.Keys, k => k is { Kty: "EC", Alg: "ES256", Crv: "P-256", Use: "sig" });
    }

    [Theory]
    [InlineData("ES256", "ES256")]
    [InlineData("ES256", null)]
    [InlineData(null, "ES256")]
    [InlineData("RS256", "RS256")]
    [InlineData(null, null)]
    public async Task SigningAlgorithms_CodeAndRefresh_EachTokenSignedWithTheClientsAlgorithm_ByEveryPath(string? idAlg, string? accessAlg)
    {
        var client = await RegisterWebClientWithAlgorithmsAsync(Kit, idAlg, accessAlg);
        // Each fast path takes the client whatever it registered (it signs with the client's keys, it does not decline).
        using var codeMeter = new FastPathMeter(CodeFastPathMeter, client.ClientId);
        using var refreshMeter = new FastPathMeter(RefreshFastPathMeter, client.ClientId);
        var user = await Kit.CreateUserAsync();
        var (idExpected, accessExpected) = (idAlg ?? "RS256", accessAlg ?? "RS256");

        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);
        Assert.Equal(CodeFastPathOff ? 0 : 1, codeMeter.Count);
        await AssertSignedWithAsync(flow.Tokens.IdentityToken!, idExpected, client.ClientId, "JWT");
        await AssertSignedWithAsync(flow.Tokens.AccessToken!, accessExpected, "identityhub", "at+jwt");
        AssertAccessTokenHash(flow.Tokens.IdentityToken!, flow.Tokens.AccessToken!);

        // The refresh grant: the fast path (a plain request), then the normal path (an ignored parameter sends it there).
        var fast = await RefreshRequestAsync(client, flow.Tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, fast.Response.StatusCode);
        var normal = await RefreshRequestAsync(client, fast.Json.GetProperty("refresh_token").GetString()!, extra: Ignored);
        Assert.Equal(HttpStatusCode.OK, normal.Response.StatusCode);
        Assert.Equal(RefreshFastPathOff ? 0 : 1, refreshMeter.Count);
        foreach (var answer in new[] { fast.Json, normal.Json })
        {
            var idToken = answer.GetProperty("id_token").GetString()!;
            var accessToken = answer.GetProperty("access_token").GetString()!;
            await AssertSignedWithAsync(idToken, idExpected, client.ClientId, "JWT");
            await AssertSignedWithAsync(accessToken, accessExpected, "identityhub", "at+jwt");
            AssertAccessTokenHash(idToken, accessToken);
        }

        // The access token of either algorithm is what userinfo and introspection take.
        using var http = Server.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", normal.Json.GetProperty("access_token").GetString());
        using var userinfo = await http.GetAsync("/connect/userinfo");
        Assert.Equal(HttpStatusCode.OK, userinfo.StatusCode);
        var introspection = await Kit.IntrospectAsync(client.ClientId, client.Secret, normal.Json.GetProperty("access_token").GetString()!);
        Assert.True(introspection.IsActive);
    }

    [Fact]
    public async Task SigningAlgorithms_ClientCredentials_AccessTokenSignedWithTheClientsAlgorithm_FastAndNormalPath()
    {
        await Kit.Admin.CreateDepartmentAsync("test");
        var clientId = OidcKit.UniqueId("svc-alg");
        using var registered = await Kit.Admin.PostAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode = "test",
            displayName = "Test service " + clientId,
            clientType = "confidential",
            grantTypes = new[] { "client_credentials" },
            redirectUris = Array.Empty<string>(),
            scopes = Array.Empty<string>(),
            accessTokenSignedResponseAlg = "ES256",
        });
        var text = await registered.Content.ReadAsStringAsync();
        Assert.True(registered.StatusCode == HttpStatusCode.Created, text);
        var client = new WebClient(clientId, JsonDocument.Parse(text).RootElement.GetProperty("clientSecret").GetString(), "", "");

        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        using var meter = new FastPathMeter("identityhub.tokens.fast_path", clientId);
        var fast = await TokenRequestAsync(client, [.. form], RefreshAuth.Basic, null);
        var normal = await TokenRequestAsync(client, [.. form], RefreshAuth.Basic, Ignored);
        Assert.Equal(Environment.GetEnvironmentVariable("Oidc__ClientCredentialsFastPath") is "false" ? 0 : 1, meter.Count);
        foreach (var answer in new[] { fast, normal })
        {
            Assert.Equal(HttpStatusCode.OK, answer.Response.StatusCode);
            await AssertSignedWithAsync(answer.Json.GetProperty("access_token").GetString()!, "ES256", "identityhub", "at+jwt");
        }
    }

    [Fact]
    public async Task SigningAlgorithms_LogoutToken_SignedWithTheClientsIdTokenAlgorithm()
    {
        var factory = Server.Services.GetRequiredService<LogoutTokenFactory>();
        var issuer = (await Kit.DiscoveryAsync()).Issuer!;
        foreach (var (registered, expected) in new[] { ("ES256", "ES256"), ((string?)null, "RS256") })
        {
            var token = factory.Create(issuer, "some-client", "subject", "sid-1", registered);
            Assert.NotNull(token);
            await AssertSignedWithAsync(token, expected, "some-client", LogoutTokenFactory.TokenType);
        }
    }

    [Fact]
    public async Task SigningAlgorithms_RegisteredAlgorithmWithoutKey_NoTokenOfAnotherAlgorithm()
    {
        // A server with the RSA certificate only: ES256 is neither offered nor signed with.
        var rsaOnly = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../certs-dev/signing-rsa.pfx"));
        Assert.True(File.Exists(rsaOnly), rsaOnly);
        await using var server = await IdentityHubServer.StartAsync(Provider, settings =>
        {
            settings["Oidc:SigningCertificates:0:Path"] = rsaOnly;
            settings["Oidc:SigningCertificates:0:Password"] = ServerKeys.DevelopmentPassword;
            settings["Oidc:EncryptionCertificates:0:Path"] = Path.Combine(Path.GetDirectoryName(rsaOnly)!, "encryption-rsa.pfx");
            settings["Oidc:EncryptionCertificates:0:Password"] = ServerKeys.DevelopmentPassword;
        });
        var kit = new OidcKit(server);
        Assert.Equal(["RS256"], (await kit.DiscoveryAsync()).IdTokenSigningAlgorithmsSupported);

        // The registry refuses ES256 here (no key of it) ...
        await kit.Admin.CreateDepartmentAsync("test");
        using (var refused = await kit.Admin.PostAsync("/api/admin/clients", new
               {
                   clientId = OidcKit.UniqueId("alg"), departmentCode = "test", displayName = "x", clientType = "confidential",
                   grantTypes = new[] { "authorization_code" }, redirectUris = new[] { "https://x.apps.test/cb" }, scopes = new[] { "openid" },
                   idTokenSignedResponseAlg = "ES256",
               }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // ... and a client that registered it when a key existed (its setting written as the registry wrote it) gets no
        // token at all once the key is gone: server_error, never an RS256 token. The refused request consumes nothing: the
        // code and the refresh token it presented stay valid and redeem normally once the client can be signed for again
        // (a refresh token redeemed by the refusal would be reuse when presented again, RFC 9700 section 4.14.2, and its
        // whole grant revoked).
        var client = await RegisterWebClientWithAlgorithmsAsync(kit, null, null);
        var user = await kit.CreateUserAsync();
        var earlier = await kit.CodeFlowAsync(new BrowserlessSignIn(server), client, user);
        Assert.NotNull(earlier.Tokens.RefreshToken);
        var (callback, pkce, _) = await kit.AuthorizeForCodeAsync(new BrowserlessSignIn(server), client, user);
        await SetIdTokenAlgorithmAsync(server, client.ClientId, "ES256");

        foreach (var tokens in new[]
                 {
                     await kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier),
                     await kit.RefreshAsync(client, earlier.Tokens.RefreshToken!),
                 })
        {
            // OpenIddict answers server_error with HTTP 500 (Duende reads that as an HTTP error and keeps the body in Raw).
            Assert.True(tokens.IsError);
            Assert.Equal(HttpStatusCode.InternalServerError, tokens.HttpStatusCode);
            Assert.Equal("server_error", JsonDocument.Parse(tokens.Raw!).RootElement.GetProperty("error").GetString());
            Assert.Null(tokens.IdentityToken);
            Assert.Null(tokens.AccessToken);
        }

        await SetIdTokenAlgorithmAsync(server, client.ClientId, null);
        var code = await kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(code.IsError, code.Raw);
        var refreshed = await kit.RefreshAsync(client, earlier.Tokens.RefreshToken!);
        Assert.False(refreshed.IsError, refreshed.Raw);

        // A client that did not ask for ID tokens with its refreshes (the default) needs no ID token key to refresh: its
        // refresh is answered (an RS256 access token, no ID token), while its code exchange, which issues one, is refused.
        var plain = await RegisterWebClientWithAlgorithmsAsync(kit, null, null, idTokenOnRefresh: false);
        var plainEarlier = await kit.CodeFlowAsync(new BrowserlessSignIn(server), plain, user);
        var (plainCallback, plainPkce, _) = await kit.AuthorizeForCodeAsync(new BrowserlessSignIn(server), plain, user);
        await SetIdTokenAlgorithmAsync(server, plain.ClientId, "ES256");
        var plainRefreshed = await kit.RefreshAsync(plain, plainEarlier.Tokens.RefreshToken!);
        Assert.False(plainRefreshed.IsError, plainRefreshed.Raw);
        Assert.Null(plainRefreshed.IdentityToken);
        Assert.True((await kit.ValidateJwtAsync(plainRefreshed.AccessToken!, "identityhub", "at+jwt", "RS256")).IsValid);
        var plainCode = await kit.RedeemCodeAsync(plain, plainCallback["code"]!, plainPkce.Verifier);
        Assert.Equal(HttpStatusCode.InternalServerError, plainCode.HttpStatusCode);
        Assert.Null(plainCode.IdentityToken);
    }

    /// <summary>Writes a client's id_token_signed_response_alg as the registry stores it, past the registry's checks, and drops the cached clients.</summary>
    private static async Task SetIdTokenAlgorithmAsync(IdentityHubServer server, string clientId, string? algorithm)
    {
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            var application = await db.Set<IdentityHub.Server.Registry.HubApplication>().SingleAsync(a => a.ClientId == clientId);
            var settings = string.IsNullOrEmpty(application.Settings) ? [] : JsonSerializer.Deserialize<Dictionary<string, string>>(application.Settings)!;
            if (algorithm is null)
            {
                settings.Remove(TokenSigning.IdTokenSetting);
            }
            else
            {
                settings[TokenSigning.IdTokenSetting] = algorithm;
            }

            application.Settings = JsonSerializer.Serialize(settings);
            await db.SaveChangesAsync();
        }

        server.Services.GetRequiredService<IdentityHub.Server.Registry.ClientCache>().Invalidate();
    }
}
