using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;
using Microsoft.IdentityModel.JsonWebTokens;

namespace IdentityHub.Tests.Verification;

/// <summary>A department web app registered for one test: authorize with a citizen's browser, redeem the code, call userinfo.</summary>
public sealed class RelyingParty(IdentityHubServer server, string clientId, string secret)
{
    public string ClientId => clientId;

    public string RedirectUri => "https://app.example.gov.cn/" + clientId + "/callback";

    public Pkce Pkce { get; } = Pkce.Create();

    public sealed record Tokens(TokenResponse Response, JsonWebToken IdToken, JsonWebToken AccessToken);

    /// <summary>Registers a web client in a new department whose ceiling allows everything; returns it.</summary>
    public static async Task<RelyingParty> RegisterAsync(JourneyFixture fixture, object claimPolicy, int minimumAssuranceLevel = 1,
        string scopes = "openid profile phone identity enterprise offline_access")
    {
        var clientId = UniqueNames.Client();
        var secret = await RegisterClientAsync(fixture, clientId, claimPolicy, minimumAssuranceLevel, scopes,
            ["https://app.example.gov.cn/" + clientId + "/callback"], []);
        return new RelyingParty(fixture.Server, clientId, secret);
    }

    /// <summary>Registers a web client with these redirect URIs in a new department whose ceiling allows everything; returns its secret.</summary>
    public static async Task<string> RegisterClientAsync(JourneyFixture fixture, string clientId, object claimPolicy, int minimumAssuranceLevel,
        string scopes, string[] redirectUris, string[] postLogoutRedirectUris)
    {
        using var http = fixture.Server.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await fixture.Admin.GetAdminTokenAsync());
        var department = UniqueNames.Department();
        (await http.PostAsJsonAsync("/api/admin/departments", new { code = department, name = "部门 " + department })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"/api/admin/departments/{department}/ceiling", new
        {
            claims = new Dictionary<string, string>
            {
                ["name"] = "full", ["preferred_username"] = "full", ["birthdate"] = "full", ["gender"] = "full", ["phone_number"] = "full",
                ["email"] = "full", ["id_number"] = "full", ["verification_level"] = "full", ["enterprise"] = "full",
            },
        })).EnsureSuccessStatusCode();
        using var created = await http.PostAsJsonAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode = department,
            displayName = "应用 " + clientId,
            kind = "web",
            redirectUris,
            postLogoutRedirectUris,
            scopes = scopes.Split(' '),
            claimPolicy,
            minimumAssuranceLevel,
            // The journeys compare the claims of refreshed ID tokens too (not the default: RefreshIdTokens).
            idTokenOnRefresh = true,
        });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(created.StatusCode == HttpStatusCode.Created, body.GetRawText());
        return body.GetProperty("clientSecret").GetString()!;
    }

    public string AuthorizeUrl(string scope, string? claims = null, string? acrValues = null, string? prompt = null)
    {
        var extra = new Parameters();
        if (claims is not null)
        {
            extra.Add("claims", claims);
        }

        return new RequestUrl(server.Authority + "/connect/authorize").CreateAuthorizeUrl(clientId: clientId, responseType: "code", scope: scope,
            redirectUri: RedirectUri, state: "st-" + clientId, nonce: "n-" + clientId, codeChallenge: Pkce.Challenge, codeChallengeMethod: "S256",
            acrValues: acrValues, prompt: prompt, extra: extra);
    }

    /// <summary>Follows the authorize URL with the browser's cookies until the server redirects to the app or shows a page.</summary>
    public async Task<(Uri? Callback, CitizenPages.Page Last)> AuthorizeAsync(CitizenPages browser, string url)
    {
        for (var hop = 0; hop < 20; hop++)
        {
            var page = await browser.GetAsync(url);
            if (page.Status != HttpStatusCode.Redirect && page.Status != HttpStatusCode.Found)
            {
                return (null, page);
            }

            if (page.Location!.Authority != server.BaseAddress.Authority)
            {
                return (page.Location, page);
            }

            url = page.Location.ToString();
        }

        throw new InvalidOperationException("Too many redirects.");
    }

    public async Task<Tokens> RedeemAsync(Uri callback)
    {
        var code = System.Web.HttpUtility.ParseQueryString(callback.Query)["code"];
        Assert.True(code is not null, "No code in " + callback);
        using var http = server.CreateHttpClient();
        var response = await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = server.Authority + "/connect/token",
            ClientId = clientId,
            ClientSecret = secret,
            Code = code,
            RedirectUri = RedirectUri,
            CodeVerifier = Pkce.Verifier,
        });
        Assert.False(response.IsError, response.Error + " " + response.ErrorDescription);
        return new Tokens(response, new JsonWebToken(response.IdentityToken), new JsonWebToken(response.AccessToken));
    }

    /// <summary>Signs in (the browser is signed in already) and redeems the code.</summary>
    public async Task<Tokens> SignInAsync(CitizenPages browser, string scope, string? claims = null, string? acrValues = null)
    {
        var (callback, last) = await AuthorizeAsync(browser, AuthorizeUrl(scope, claims, acrValues));
        Assert.True(callback is not null, $"Stopped at {last.Url} ({last.Status})");
        return await RedeemAsync(callback!);
    }

    public async Task<TokenResponse> RefreshAsync(string refreshToken)
    {
        using var http = server.CreateHttpClient();
        return await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = server.Authority + "/connect/token", ClientId = clientId, ClientSecret = secret, RefreshToken = refreshToken,
        });
    }

    public async Task<JsonElement> UserInfoAsync(string accessToken)
    {
        using var http = server.CreateHttpClient();
        var response = await http.GetUserInfoAsync(new UserInfoRequest { Address = server.Authority + "/connect/userinfo", Token = accessToken });
        Assert.False(response.IsError, response.Error);
        return response.Json!.Value.Clone();
    }

    /// <summary>A JSON claim of a token (verified_claims, enterprise, act), or null.</summary>
    public static JsonElement? JsonClaim(JsonWebToken token, string type) =>
        token.TryGetPayloadValue<JsonElement>(type, out var value) ? value : null;
}
