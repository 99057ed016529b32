using System.Buffers.Text;
using System.Collections.Specialized;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Web;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Tests.Oidc;

/// <summary>A department web app registered for one test (confidential, code + refresh, PKCE).</summary>
public sealed record WebClient(string ClientId, string? Secret, string RedirectUri, string PostLogoutRedirectUri);

/// <summary>A citizen account created for one test.</summary>
public sealed record TestUser(string Id, string UserName, string Password, string PhoneNumber, string DisplayName);

/// <summary>An RFC 7636 code verifier and its S256 challenge.</summary>
public sealed record Pkce(string Verifier, string Challenge)
{
    public static Pkce Create()
    {
        // 32 random octets, base64url: a 43-character verifier (RFC 7636 section 4.1).
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return new Pkce(verifier, Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }
}

/// <summary>The outcome of a completed authorization code flow.</summary>
public sealed record CodeFlow(NameValueCollection Callback, TokenResponse Tokens, string State, string Nonce);

/// <summary>
/// What the OIDC tests need to act as a relying party, with Duende.IdentityModel as the independent
/// client library: register clients and users, build authorize URLs, redeem codes, read and validate JWTs.
/// </summary>
public sealed class OidcKit(IdentityHubServer server)
{
    public const string WebScopes = "openid profile phone offline_access";
    public const string Password = "Correct-Horse-42";

    private DiscoveryDocumentResponse? _discovery;

    public IdentityHubServer Server => server;

    public AdminApiClient Admin { get; } = new(server);

    public static string UniqueId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>The discovery document, validated with Duende's default policy (fetched once per test).</summary>
    public async Task<DiscoveryDocumentResponse> DiscoveryAsync()
    {
        if (_discovery is null)
        {
            using var http = server.CreateHttpClient();
            var disco = await http.GetDiscoveryDocumentAsync(server.Authority);
            Assert.False(disco.IsError, disco.Error);
            _discovery = disco;
        }

        return _discovery;
    }

    /// <summary>
    /// A web client (code and refresh grants). <paramref name="idTokenOnRefresh"/>: its refreshes return an ID token (the
    /// registry's idTokenOnRefresh), as most of these tests compare the refreshed ID token with the first; the server's
    /// default (false: no ID token with a refresh) is pinned by the RefreshIdToken tests.
    /// </summary>
    public async Task<WebClient> RegisterWebClientAsync(string[]? redirectUris = null, string clientType = "confidential", bool idTokenOnRefresh = true)
    {
        var clientId = UniqueId("web");
        var baseUri = $"https://{clientId}.apps.test";
        var redirects = redirectUris ?? [baseUri + "/signin-oidc"];
        var postLogout = baseUri + "/signout-callback-oidc";
        var secret = await Admin.RegisterClientAsync(clientId, clientType, ["authorization_code", "refresh_token"], redirects,
            ["openid", "profile", "phone", "offline_access"], [postLogout], idTokenOnRefresh: idTokenOnRefresh);
        return new WebClient(clientId, secret, redirects[0], postLogout);
    }

    public async Task<(string ClientId, string Secret)> RegisterServiceClientAsync()
    {
        var clientId = UniqueId("svc");
        var secret = await Admin.RegisterClientAsync(clientId, "confidential", ["client_credentials"], [], []);
        return (clientId, secret ?? throw new InvalidOperationException("A confidential client has a secret."));
    }

    /// <summary>
    /// Mobile numbers are unique per account, and the tests of one run share their databases: a random 8-digit suffix per
    /// user collided now and then (409 "The mobile number belongs to another account"). A random start per process, then
    /// one number after another: no two users of a run share one.
    /// </summary>
    private static long s_phone = RandomNumberGenerator.GetInt32(0, 100_000_000);

    private static long NextPhoneDigits() => Interlocked.Increment(ref s_phone) % 100_000_000;

    public async Task<TestUser> CreateUserAsync()
    {
        var userName = UniqueId("citizen");
        var phone = "139" + NextPhoneDigits().ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
        var displayName = "市民 " + userName[^6..];
        var id = await Admin.CreateUserAsync(userName, Password, phone, displayName);
        return new TestUser(id, userName, Password, phone, displayName);
    }

    public async Task<string> AuthorizeUrlAsync(WebClient client, Pkce? pkce, string state, string? nonce = null, string scope = WebScopes,
        string? prompt = null, int? maxAge = null, string? redirectUri = null, string? codeChallengeMethod = "S256", string? idTokenHint = null)
    {
        var disco = await DiscoveryAsync();
        return new RequestUrl(disco.AuthorizeEndpoint!).CreateAuthorizeUrl(
            clientId: client.ClientId,
            responseType: "code",
            scope: scope,
            redirectUri: redirectUri ?? client.RedirectUri,
            state: state,
            nonce: nonce,
            prompt: prompt,
            codeChallenge: pkce?.Challenge,
            codeChallengeMethod: pkce is null ? null : codeChallengeMethod,
            maxAge: maxAge,
            idTokenHint: idTokenHint);
    }

    /// <summary>Runs authorize (signing in if the sign-in page appears) and returns the callback's query parameters.</summary>
    public static async Task<NameValueCollection> AuthorizeToCallbackAsync(BrowserlessSignIn browser, string authorizeUrl, TestUser? user, string expectedCallback)
    {
        var outcome = await browser.AuthorizeAsync(authorizeUrl, user?.UserName, user?.Password);
        Assert.True(outcome.Callback is not null,
            $"No redirect to the client: stopped at {outcome.LastUrl} with HTTP {(int)outcome.FinalStatus}: {Shorten(outcome.FinalBody)}");
        Assert.Equal(expectedCallback, outcome.Callback!.GetLeftPart(UriPartial.Path));
        return HttpUtility.ParseQueryString(outcome.Callback.Query);
    }

    /// <summary>Authorization code + PKCE S256 with state and nonce, then the code redeemed at the token endpoint.</summary>
    public async Task<CodeFlow> CodeFlowAsync(BrowserlessSignIn browser, WebClient client, TestUser? user, string scope = WebScopes, string? prompt = null, int? maxAge = null)
    {
        var (callback, pkce, nonce) = await AuthorizeForCodeAsync(browser, client, user, scope, prompt, maxAge);
        var tokens = await RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
        return new CodeFlow(callback, tokens, callback["state"]!, nonce);
    }

    /// <summary>The front-channel half: authorize with PKCE S256, state and nonce, up to the code at the callback.</summary>
    public async Task<(NameValueCollection Callback, Pkce Pkce, string Nonce)> AuthorizeForCodeAsync(BrowserlessSignIn browser, WebClient client, TestUser? user,
        string scope = WebScopes, string? prompt = null, int? maxAge = null)
    {
        var pkce = Pkce.Create();
        var state = UniqueId("state");
        var nonce = UniqueId("nonce");
        var url = await AuthorizeUrlAsync(client, pkce, state, nonce, scope, prompt, maxAge);
        var callback = await AuthorizeToCallbackAsync(browser, url, user, client.RedirectUri);
        Assert.Null(callback["error"]);
        Assert.Equal(state, callback["state"]);
        Assert.False(string.IsNullOrEmpty(callback["code"]));
        return (callback, pkce, nonce);
    }

    public async Task<TokenResponse> RedeemCodeAsync(WebClient client, string code, string? codeVerifier, string? redirectUri = null)
    {
        var disco = await DiscoveryAsync();
        using var http = server.CreateHttpClient();
        return await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = disco.TokenEndpoint,
            ClientId = client.ClientId,
            ClientSecret = client.Secret,
            Code = code,
            RedirectUri = redirectUri ?? client.RedirectUri,
            CodeVerifier = codeVerifier,
        });
    }

    public async Task<TokenResponse> RefreshAsync(WebClient client, string refreshToken)
    {
        var disco = await DiscoveryAsync();
        using var http = server.CreateHttpClient();
        return await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = disco.TokenEndpoint,
            ClientId = client.ClientId,
            ClientSecret = client.Secret,
            RefreshToken = refreshToken,
        });
    }

    public async Task<TokenIntrospectionResponse> IntrospectAsync(string clientId, string? secret, string token, string? tokenTypeHint = null)
    {
        var disco = await DiscoveryAsync();
        using var http = server.CreateHttpClient();
        var response = await http.IntrospectTokenAsync(new TokenIntrospectionRequest
        {
            Address = disco.IntrospectionEndpoint,
            ClientId = clientId,
            ClientSecret = secret,
            Token = token,
            TokenTypeHint = tokenTypeHint,
        });
        Assert.False(response.IsError, $"Introspection failed: {response.Error} {response.Raw}");
        return response;
    }

    /// <summary>The server's JWKS as Microsoft.IdentityModel sees it (an independent parser from Duende's).</summary>
    public async Task<Microsoft.IdentityModel.Tokens.JsonWebKeySet> JwksAsync()
    {
        var disco = await DiscoveryAsync();
        using var http = server.CreateHttpClient();
        return new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await http.GetStringAsync(disco.JwksUri));
    }

    /// <summary>Validates signature (against the JWKS), issuer, audience, lifetime, typ and alg of a JWT.</summary>
    public async Task<TokenValidationResult> ValidateJwtAsync(string jwt, string audience, string type, string algorithm)
    {
        var disco = await DiscoveryAsync();
        var jwks = await JwksAsync();
        return await new JsonWebTokenHandler().ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            ValidIssuer = disco.Issuer,
            ValidAudience = audience,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidTypes = [type],
            ValidAlgorithms = [algorithm],
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
        });
    }

    public static JsonElement JwtHeader(string jwt) => DecodeSegment(jwt, 0);

    public static JsonElement JwtPayload(string jwt) => DecodeSegment(jwt, 1);

    private static JsonElement DecodeSegment(string jwt, int index)
    {
        var segments = jwt.Split('.');
        Assert.Equal(3, segments.Length);
        return JsonDocument.Parse(Base64Url.DecodeFromChars(segments[index])).RootElement.Clone();
    }

    public static string? Shorten(string? text) => text is null || text.Length <= 600 ? text : text[..600] + "…";
}
