using IdentityHub.Tests.Oidc;

namespace IdentityHub.Tests.Sessions;

public abstract partial class SessionProtocolTests
{
    /// <summary>
    /// A client registered with id_token_signed_response_alg ES256 (the server's default being RS256): its ID token, taken
    /// back as the id_token_hint of RP-initiated logout, ends the session, and the logout token the back-channel sender
    /// posts to it is signed as its ID tokens are (OpenID Connect Back-Channel Logout 1.0 section 2.4), with a published key.
    /// </summary>
    [Fact]
    public async Task LogoutToken_ClientRegisteredEs256IdTokens_HintAcceptedAndLogoutTokenSignedEs256()
    {
        var client = await SessionsKit.RegisterClientAsync(Kit, Receiver, idTokenSignedResponseAlg: "ES256");
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);
        Assert.Equal("ES256", OidcKit.JwtHeader(signIn.Tokens.IdentityToken!).GetProperty("alg").GetString());

        var outcome = await SessionsKit.LogoutAsync(Kit, browser, client, signIn, "bye");
        Assert.Equal(client.PostLogoutRedirectUri, outcome.Callback?.GetLeftPart(UriPartial.Path));
        var token = await Receiver.WaitForTokenAsync(client.ClientId);

        var header = OidcKit.JwtHeader(token);
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        var key = Assert.Single((await Kit.JwksAsync()).Keys, k => k.Kid == header.GetProperty("kid").GetString());
        Assert.Equal("EC", key.Kty);
        var validation = await Kit.ValidateJwtAsync(token, client.ClientId, "logout+jwt", "ES256");
        Assert.True(validation.IsValid, validation.Exception?.ToString());
        Assert.Equal(SessionsKit.Sid(signIn), OidcKit.JwtPayload(token).GetProperty("sid").GetString());
    }
}
