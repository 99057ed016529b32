using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace IdentityHub.Tests.Registry;

/// <summary>The authorization code flow with PKCE, over real HTTP, as a department's web app runs it.</summary>
public sealed class OidcFlow(IdentityHubServer server, BrowserlessSignIn browser)
{
    public sealed record Result(TokenResponse Tokens, JsonWebToken IdToken, JsonElement UserInfo);

    public static string RedirectUri(string clientId) => "https://app.example.gov.cn/" + clientId + "/callback";

    /// <summary>Sends the person to /connect/authorize; returns the callback URL the server redirected to.</summary>
    public async Task<Uri> AuthorizeAsync(string clientId, string scope, string verifier, string? userName, string? password)
    {
        var challenge = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var url = new RequestUrl(server.Authority + "/connect/authorize").CreateAuthorizeUrl(
            clientId: clientId, responseType: "code", scope: scope, redirectUri: RedirectUri(clientId), state: "s" + Guid.NewGuid().ToString("N"),
            nonce: "n" + Guid.NewGuid().ToString("N"), codeChallenge: challenge, codeChallengeMethod: "S256");
        var outcome = await browser.AuthorizeAsync(url, userName, password);
        Assert.True(outcome.Callback is not null, $"No callback: {outcome.FinalStatus} at {outcome.LastUrl}: {outcome.FinalBody}");
        return outcome.Callback!;
    }

    public async Task<Result> SignInAsync(string clientId, string secret, string scope, string userName, string password)
    {
        var tokens = await CodeForTokensAsync(clientId, secret, scope, userName, password);
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
        using var http = server.CreateHttpClient();
        var userInfo = await http.GetUserInfoAsync(new UserInfoRequest { Address = server.Authority + "/connect/userinfo", Token = tokens.AccessToken });
        Assert.False(userInfo.IsError, userInfo.Error);
        return new Result(tokens, new JsonWebToken(tokens.IdentityToken), userInfo.Json!.Value.Clone());
    }

    /// <summary>Authorizes (a code must come back) and redeems the code; the token endpoint's answer, success or error.</summary>
    public async Task<TokenResponse> CodeForTokensAsync(string clientId, string secret, string scope, string userName, string password)
    {
        var verifier = CryptoRandom.CreateUniqueId(32);
        var callback = await AuthorizeAsync(clientId, scope, verifier, userName, password);
        var code = System.Web.HttpUtility.ParseQueryString(callback.Query)["code"];
        Assert.True(code is not null, "No code in " + callback);
        using var http = server.CreateHttpClient();
        return await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = server.Authority + "/connect/token",
            ClientId = clientId,
            ClientSecret = secret,
            Code = code,
            RedirectUri = RedirectUri(clientId),
            CodeVerifier = verifier,
        });
    }
}
