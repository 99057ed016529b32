using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

public abstract partial class OidcProtocolTests
{
    [Fact]
    public async Task Discovery_DuendeDefaultPolicy_ValidDocumentWithOurEndpointsAndS256Only()
    {
        using var http = Server.CreateHttpClient();
        // Default policy: issuer equals the authority, every endpoint under it, JWKS loaded.
        var disco = await http.GetDiscoveryDocumentAsync(Server.Authority);

        Assert.False(disco.IsError, disco.Error);
        Assert.Equal(Server.Authority + "/", disco.Issuer);
        Assert.Equal(Server.Authority + "/connect/authorize", disco.AuthorizeEndpoint);
        Assert.Equal(Server.Authority + "/connect/token", disco.TokenEndpoint);
        Assert.Equal(Server.Authority + "/connect/userinfo", disco.UserInfoEndpoint);
        Assert.Equal(Server.Authority + "/connect/introspect", disco.IntrospectionEndpoint);
        Assert.Equal(Server.Authority + "/connect/revoke", disco.RevocationEndpoint);
        Assert.Equal(Server.Authority + "/connect/endsession", disco.EndSessionEndpoint);
        Assert.Equal(Server.Authority + "/connect/par", disco.PushedAuthorizationRequestEndpoint);
        Assert.Equal(Server.Authority + "/.well-known/jwks", disco.JwksUri);

        // RFC 7636 / RFC 9700 section 2.1.1: S256 only, never "plain".
        Assert.Equal(["S256"], disco.CodeChallengeMethodsSupported);
        Assert.DoesNotContain("\"plain\"", disco.Raw, StringComparison.Ordinal);
        Assert.Equal(["code"], disco.ResponseTypesSupported);
        Assert.Equal(
            ["authorization_code", "client_credentials", "refresh_token"],
            disco.GrantTypesSupported.Order(StringComparer.Ordinal));
        // RS256 first (OpenID Connect Discovery 1.0 section 3: it MUST be included); ES256 for clients that register it.
        Assert.Equal(["RS256", "ES256"], disco.IdTokenSigningAlgorithmsSupported);
        Assert.NotEmpty(disco.KeySet!.Keys);
    }

    [Fact]
    public async Task Jwks_RsaSigningKey_Rs256KeyWhoseKidSignsTheIdToken()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var flow = await Kit.CodeFlowAsync(NewBrowser(), client, user);

        var jwks = await Kit.JwksAsync();
        Assert.NotEmpty(jwks.Keys);
        Assert.All(jwks.Keys, key => Assert.False(key.HasPrivateKey, "The JWKS must publish public keys only."));

        var header = OidcKit.JwtHeader(flow.Tokens.IdentityToken!);
        Assert.Equal("RS256", header.GetProperty("alg").GetString());
        var kid = header.GetProperty("kid").GetString();
        var key = Assert.Single(jwks.Keys, k => k.Kid == kid);
        Assert.Equal("RSA", key.Kty);
        Assert.Equal("sig", key.Use);
        Assert.Equal("RS256", key.Alg);

        var validation = await Kit.ValidateJwtAsync(flow.Tokens.IdentityToken!, client.ClientId, "JWT", "RS256");
        Assert.True(validation.IsValid, validation.Exception?.ToString());
    }

    [Fact]
    public async Task Es256Server_SignedTokens_Es256InDiscoveryJwksIdAndAccessTokens()
    {
        await using var server = await IdentityHubServer.StartAsync(Provider, settings => settings["Oidc:SigningAlgorithm"] = "ES256");
        var kit = new OidcKit(server);
        var disco = await kit.DiscoveryAsync();
        Assert.Contains("ES256", disco.IdTokenSigningAlgorithmsSupported);

        // The RSA certificate stays published (and signs for clients that register RS256); the EC key signs by default.
        var jwks = await kit.JwksAsync();
        Assert.Contains(jwks.Keys, k => k is { Kty: "RSA", Alg: "RS256" });
        var key = Assert.Single(jwks.Keys, k => k.Kty == "EC");
        Assert.Equal("EC", key.Kty);
        Assert.Equal("P-256", key.Crv);
        Assert.Equal("ES256", key.Alg);

        var client = await kit.RegisterWebClientAsync();
        var user = await kit.CreateUserAsync();
        var flow = await kit.CodeFlowAsync(new BrowserlessSignIn(server), client, user);

        var idTokenHeader = OidcKit.JwtHeader(flow.Tokens.IdentityToken!);
        Assert.Equal("ES256", idTokenHeader.GetProperty("alg").GetString());
        Assert.Equal(key.Kid, idTokenHeader.GetProperty("kid").GetString());
        var idToken = await kit.ValidateJwtAsync(flow.Tokens.IdentityToken!, client.ClientId, "JWT", "ES256");
        Assert.True(idToken.IsValid, idToken.Exception?.ToString());

        Assert.Equal("ES256", OidcKit.JwtHeader(flow.Tokens.AccessToken!).GetProperty("alg").GetString());
        var accessToken = await kit.ValidateJwtAsync(flow.Tokens.AccessToken!, "identityhub", "at+jwt", "ES256");
        Assert.True(accessToken.IsValid, accessToken.Exception?.ToString());

        // OpenIddict's normal path (an ignored parameter sends the refresh there) signs with the default algorithm too, not
        // with the first asymmetric key of its list (the RSA certificate, which OpenIddict sorts before the EC key).
        using var http = server.CreateHttpClient();
        using var refreshed = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["refresh_token"] = flow.Tokens.RefreshToken!, ["client_id"] = client.ClientId,
            ["client_secret"] = client.Secret!, ["x_ignored"] = "1",
        }));
        var answer = System.Text.Json.JsonDocument.Parse(await refreshed.Content.ReadAsStringAsync()).RootElement;
        Assert.True(refreshed.IsSuccessStatusCode, answer.ToString());
        foreach (var (name, audience, type) in new[] { ("id_token", client.ClientId, "JWT"), ("access_token", "identityhub", "at+jwt") })
        {
            var jwt = answer.GetProperty(name).GetString()!;
            Assert.Equal(key.Kid, OidcKit.JwtHeader(jwt).GetProperty("kid").GetString());
            var validation = await kit.ValidateJwtAsync(jwt, audience, type, "ES256");
            Assert.True(validation.IsValid, validation.Exception?.ToString());
        }
    }
}
