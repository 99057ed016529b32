using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Server.Oidc;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;

namespace IdentityHub.Tests.Factors;

/// <summary>
/// A department app of a test: a confidential client registered through the admin API, which builds
/// authorize URLs (PKCE S256) and redeems the code for tokens, returning the ID token's claims.
/// </summary>
public sealed class OidcClient
{
    public const string RedirectUri = "http://127.0.0.1:9/callback";

    private readonly IdentityHubServer _server;
    private readonly string _secret;
    private readonly string _verifier = Base64Url(RandomNumberGenerator.GetBytes(32));

    private OidcClient(IdentityHubServer server, string clientId, string secret)
    {
        _server = server;
        ClientId = clientId;
        _secret = secret;
    }

    public string ClientId { get; }

    public static async Task<OidcClient> RegisterAsync(IdentityHubServer server, bool requireMfa = false)
    {
        var clientId = "factors-" + Guid.NewGuid().ToString("N")[..12];
        var secret = await new AdminApiClient(server).RegisterClientAsync(clientId, "confidential",
            ["authorization_code"], [RedirectUri], ["openid", "profile"]);
        if (requireMfa)
        {
            var policy = await new AdminApiClient(server).SetRequireMultiFactorAsync(clientId, true);
            Assert.True(policy.GetProperty("requireMultiFactor").GetBoolean());
        }

        return new OidcClient(server, clientId, secret!);
    }

    public string AuthorizeUrl(string? acrValues = null, string? prompt = null)
    {
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(_verifier)));
        var query = new Dictionary<string, string?>
        {
            ["client_id"] = ClientId,
            ["response_type"] = "code",
            ["redirect_uri"] = RedirectUri,
            ["scope"] = "openid profile",
            ["state"] = "s",
            ["nonce"] = "n",
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
            ["acr_values"] = acrValues,
            ["prompt"] = prompt,
        };
        return "/connect/authorize" + Microsoft.AspNetCore.Http.QueryString.Create(query.Where(p => p.Value is not null));
    }

    /// <summary>Redeems the code of a callback URL and returns the ID token's payload.</summary>
    public async Task<JsonElement> RedeemAsync(Uri callback)
    {
        var code = System.Web.HttpUtility.ParseQueryString(callback.Query)["code"];
        Assert.False(string.IsNullOrEmpty(code), "No code in " + callback);
        using var http = _server.CreateHttpClient();
        var response = await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = _server.Authority + "/connect/token",
            ClientId = ClientId,
            ClientSecret = _secret,
            Code = code,
            RedirectUri = RedirectUri,
            CodeVerifier = _verifier,
        });
        Assert.False(response.IsError, response.Error + " " + response.ErrorDescription);
        var payload = response.IdentityToken!.Split('.')[1];
        return JsonDocument.Parse(Convert.FromBase64String(Pad(payload.Replace('-', '+').Replace('_', '/')))).RootElement.Clone();
    }

    public static string[] Amr(JsonElement idToken) => idToken.GetProperty("amr").EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static string Pad(string base64) => base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
