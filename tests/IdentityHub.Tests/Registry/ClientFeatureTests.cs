using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using IdentityHub.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Tests.Registry;

/// <summary>private_key_jwt, per-client token lifetimes and explicit consent, over real HTTP.</summary>
public sealed class ClientFeatureTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task PrivateKeyJwt_RegisteredJwks_TokenIssued_WrongKeyRefused()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("pkj");
        using var key = RSA.Create(2048);
        var signingKey = new RsaSecurityKey(key) { KeyId = "k1" };
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.ExportParameters(false)) { KeyId = "k1" });
        var jwks = new { keys = new[] { new { kty = "RSA", use = "sig", kid = "k1", n = jwk.N, e = jwk.E } } };
        var secret = await fixture.RegisterAsync(new
        {
            clientId, departmentCode = department, displayName = "私钥认证", kind = "machine", scopes = Array.Empty<string>(), jwks,
        });
        Assert.Null(secret);

        var (status, body) = await AssertionTokenAsync(clientId, signingKey);
        Assert.True(status == HttpStatusCode.OK, body);
        using var other = RSA.Create(2048);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AssertionTokenAsync(clientId, new RsaSecurityKey(other) { KeyId = "k1" })).Status);
    }

    [Fact]
    public async Task RegisterClient_PrivateKeyInJwks_Refused()
    {
        var department = await fixture.CreateDepartmentAsync();
        using var key = RSA.Create(2048);
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.ExportParameters(true)));
        using var http = await fixture.PlatformClientAsync();
        using var response = await http.PostAsJsonAsync("/api/admin/clients", new
        {
            clientId = RegistryFixture.Unique("leak"), departmentCode = department, displayName = "x", kind = "machine",
            jwks = new { keys = new[] { new { kty = "RSA", n = jwk.N, e = jwk.E, d = jwk.D } } },
        });
        var problem = await RegistryFixture.Expect(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("jwks", out _));
    }

    [Fact]
    public async Task TokenLifetimes_PerClient_AccessTokenLivesAsRegistered()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("life");
        var secret = (await fixture.RegisterAsync(new
        {
            clientId, departmentCode = department, displayName = "短令牌", kind = "machine", scopes = Array.Empty<string>(),
            lifetimes = new { accessTokenSeconds = 120 },
        }))!;
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret,
        }));
        var json = await RegistryFixture.Expect(response, HttpStatusCode.OK);
        Assert.Equal(120, json.GetProperty("expires_in").GetInt32(), tolerance: 1);
        var token = new JsonWebToken(json.GetProperty("access_token").GetString());
        Assert.Equal(TimeSpan.FromSeconds(120), token.ValidTo - token.IssuedAt);
    }

    [Fact]
    public async Task ExplicitConsent_AcceptOnce_ThenNoQuestion_DeclineGivesAccessDenied()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("ask");
        var secret = (await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department, consentMode: "explicit")))!;
        var userName = RegistryFixture.Unique("c");
        await fixture.Admin.CreateUserAsync(userName, RegistryFixture.Password, null, "赵六");

        var browser = new BrowserlessSignIn(fixture.Server);
        var flow = new OidcFlow(fixture.Server, browser);
        var consentPage = await StopAtConsentAsync(browser, clientId, userName);
        // The page names the app and the claims it would receive (names, not values).
        Assert.Contains("应用 " + clientId, consentPage.Body, StringComparison.Ordinal);
        Assert.Contains("姓名", consentPage.Body, StringComparison.Ordinal);
        var callback = await AnswerConsentAsync(browser, consentPage, "accept");
        Assert.NotNull(System.Web.HttpUtility.ParseQueryString(callback.Query)["code"]);

        // Consent is remembered: the next sign-in goes straight through.
        var result = await flow.SignInAsync(clientId, secret, "openid profile", userName, RegistryFixture.Password);
        Assert.Equal("赵六", result.IdToken.GetClaim("name").Value);

        var declining = new BrowserlessSignIn(fixture.Server);
        var otherUser = RegistryFixture.Unique("c");
        await fixture.Admin.CreateUserAsync(otherUser, RegistryFixture.Password);
        var declined = await AnswerConsentAsync(declining, await StopAtConsentAsync(declining, clientId, otherUser), "decline");
        Assert.Equal("access_denied", System.Web.HttpUtility.ParseQueryString(declined.Query)["error"]);
    }

    [Fact]
    public async Task PromptConsent_ExplicitClientAlreadyConsented_ConsentPageShownAgain()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("again");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department, consentMode: "explicit"));
        var userName = RegistryFixture.Unique("c");
        await fixture.Admin.CreateUserAsync(userName, RegistryFixture.Password);
        var browser = new BrowserlessSignIn(fixture.Server);
        await AnswerConsentAsync(browser, await StopAtConsentAsync(browser, clientId, userName), "accept");
        var remembered = await browser.AuthorizeAsync(AuthorizeUrl(clientId));
        Assert.NotNull(remembered.Callback);

        // OIDC Core 3.1.2.1: prompt=consent asks again although consent was given; accepting gives a code.
        var again = await StopAtConsentAsync(browser, clientId, userName, prompt: "consent");
        var callback = await AnswerConsentAsync(browser, again, "accept");
        Assert.NotNull(System.Web.HttpUtility.ParseQueryString(callback.Query)["code"]);

        // Declining the renewed question is an answer too: access_denied, although an older consent exists.
        var declined = await AnswerConsentAsync(browser, await StopAtConsentAsync(browser, clientId, userName, prompt: "consent"), "decline");
        Assert.Equal("access_denied", System.Web.HttpUtility.ParseQueryString(declined.Query)["error"]);
    }

    [Fact]
    public async Task PromptConsent_ImplicitClient_ConsentPageShown_WithoutPromptNoPage()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("impl");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department, consentMode: "implicit"));
        var userName = RegistryFixture.Unique("c");
        await fixture.Admin.CreateUserAsync(userName, RegistryFixture.Password);
        var browser = new BrowserlessSignIn(fixture.Server);

        var direct = await browser.AuthorizeAsync(AuthorizeUrl(clientId), userName, RegistryFixture.Password);
        Assert.True(direct.Callback is not null, $"{direct.FinalStatus} {direct.LastUrl}");
        Assert.NotNull(System.Web.HttpUtility.ParseQueryString(direct.Callback!.Query)["code"]);

        var page = await StopAtConsentAsync(browser, clientId, userName, prompt: "consent");
        Assert.Contains("应用 " + clientId, page.Body, StringComparison.Ordinal);
        var callback = await AnswerConsentAsync(browser, page, "accept");
        Assert.NotNull(System.Web.HttpUtility.ParseQueryString(callback.Query)["code"]);
    }

    [Fact]
    public async Task PromptNone_ExplicitClientNotConsented_ConsentRequired()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("none");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department, consentMode: "explicit"));
        var userName = RegistryFixture.Unique("c");
        await fixture.Admin.CreateUserAsync(userName, RegistryFixture.Password);
        var browser = new BrowserlessSignIn(fixture.Server);
        await StopAtConsentAsync(browser, clientId, userName);

        var outcome = await browser.AuthorizeAsync(AuthorizeUrl(clientId, prompt: "none"));
        Assert.True(outcome.Callback is not null, $"{outcome.FinalStatus} {outcome.LastUrl}");
        Assert.Equal("consent_required", System.Web.HttpUtility.ParseQueryString(outcome.Callback!.Query)["error"]);
    }

    private sealed record ConsentPage(Uri Url, string Body);

    private async Task<ConsentPage> StopAtConsentAsync(BrowserlessSignIn browser, string clientId, string userName, string? prompt = null)
    {
        var outcome = await browser.AuthorizeAsync(AuthorizeUrl(clientId, prompt), userName, RegistryFixture.Password);
        Assert.True(outcome.LastUrl.AbsolutePath == "/Account/Consent", $"Not on the consent page: {outcome.Callback} {outcome.LastUrl}");
        Assert.Equal(HttpStatusCode.OK, outcome.FinalStatus);
        return new ConsentPage(outcome.LastUrl, outcome.FinalBody!);
    }

    /// <summary>An authorize request with its own state (as a client sends it), optionally with a prompt.</summary>
    private static string AuthorizeUrl(string clientId, string? prompt = null) =>
        $"/connect/authorize?client_id={clientId}&response_type=code&scope=openid%20profile&redirect_uri="
        + Uri.EscapeDataString(OidcFlow.RedirectUri(clientId)) + "&state=s" + Guid.NewGuid().ToString("N")
        + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        + (prompt is null ? "" : "&prompt=" + prompt);

    private async Task<Uri> AnswerConsentAsync(BrowserlessSignIn browser, ConsentPage page, string decision)
    {
        using var http = fixture.Server.CreateHttpClient(cookies: browser.Cookies);
        using var response = await http.PostAsync(page.Url, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["decision"] = decision,
            ["ReturnUrl"] = System.Web.HttpUtility.ParseQueryString(page.Url.Query)["ReturnUrl"]!,
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(page.Body),
        }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var outcome = await browser.AuthorizeAsync(new Uri(page.Url, response.Headers.Location!).ToString());
        Assert.True(outcome.Callback is not null, $"{outcome.FinalStatus} {outcome.LastUrl} {outcome.FinalBody}");
        return outcome.Callback!;
    }

    private async Task<(HttpStatusCode Status, string Body)> AssertionTokenAsync(string clientId, SecurityKey key)
    {
        var now = DateTime.UtcNow;
        // OpenIddict 7 wants the explicit type of draft-ietf-oauth-rfc7523bis for client assertions.
        var assertion = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            TokenType = "client-authentication+jwt",
            Issuer = clientId,
            Audience = fixture.Server.Authority + "/",
            Claims = new Dictionary<string, object> { ["sub"] = clientId, ["jti"] = Guid.NewGuid().ToString("N") },
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(2),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ["client_assertion"] = assertion,
        }));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
