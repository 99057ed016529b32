using System.Net;
using System.Web;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

public abstract partial class OidcProtocolTests
{
    /// <summary>authorize with prompt=none for <paramref name="client"/> in <paramref name="browser"/>; returns the callback parameters.</summary>
    private async Task<(System.Collections.Specialized.NameValueCollection Callback, string State)> PromptNoneAsync(BrowserlessSignIn browser, WebClient client)
    {
        var state = OidcKit.UniqueId("state");
        var url = await Kit.AuthorizeUrlAsync(client, Pkce.Create(), state, OidcKit.UniqueId("nonce"), prompt: "none");
        // No credentials: prompt=none must never stop on a page.
        return (await OidcKit.AuthorizeToCallbackAsync(browser, url, user: null, client.RedirectUri), state);
    }

    [Fact]
    public async Task PromptNone_NoSession_RedirectsWithLoginRequiredAndState()
    {
        var client = await Kit.RegisterWebClientAsync();

        var (callback, state) = await PromptNoneAsync(NewBrowser(), client);

        // OIDC Core section 3.1.2.6.
        Assert.Equal("login_required", callback["error"]);
        Assert.Equal(state, callback["state"]);
        Assert.Equal((await Kit.DiscoveryAsync()).Issuer, callback["iss"]);
        Assert.Null(callback["code"]);
    }

    [Fact]
    public async Task PromptNone_LiveSession_CodeWithoutAnyPage()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);

        var silent = await Kit.CodeFlowAsync(browser, client, user: null, prompt: "none");

        var first = OidcKit.JwtPayload(signIn.Tokens.IdentityToken!);
        var second = OidcKit.JwtPayload(silent.Tokens.IdentityToken!);
        // Clients have pairwise subjects by default: the same sub as the first sign-in, not the account id.
        Assert.Equal(first.GetProperty("sub").GetString(), second.GetProperty("sub").GetString());
        Assert.Equal(silent.Nonce, second.GetProperty("nonce").GetString());
        Assert.Equal(first.GetProperty("sid").GetString(), second.GetProperty("sid").GetString());
        Assert.Equal(first.GetProperty("auth_time").GetInt64(), second.GetProperty("auth_time").GetInt64());
    }

    [Theory]
    [InlineData("prompt=login")]
    [InlineData("max_age=0")]
    public async Task ForcedReauthentication_LiveSession_SignInPageAgainThenCompletes(string parameter)
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);
        var prompt = parameter == "prompt=login" ? "login" : null;
        int? maxAge = parameter == "max_age=0" ? 0 : null;
        var state = OidcKit.UniqueId("state");
        var pkce = Pkce.Create();
        var nonce = OidcKit.UniqueId("nonce");
        var url = await Kit.AuthorizeUrlAsync(client, pkce, state, nonce, prompt: prompt, maxAge: maxAge);

        // OIDC Core section 3.1.2.1: the live session is not enough, the sign-in page comes back.
        var stopped = await browser.AuthorizeAsync(url);
        Assert.Null(stopped.Callback);
        Assert.Equal(HttpStatusCode.OK, stopped.FinalStatus);
        Assert.Equal("/Account/Login", stopped.LastUrl.AbsolutePath);

        // Signing in completes the flow (no loop back to the sign-in page).
        var callback = await OidcKit.AuthorizeToCallbackAsync(browser, url, user, client.RedirectUri);
        Assert.Null(callback["error"]);
        Assert.Equal(state, callback["state"]);
        var tokens = await Kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
        var before = OidcKit.JwtPayload(signIn.Tokens.IdentityToken!);
        var after = OidcKit.JwtPayload(tokens.IdentityToken!);
        Assert.Equal(before.GetProperty("sub").GetString(), after.GetProperty("sub").GetString());
        Assert.Equal(nonce, after.GetProperty("nonce").GetString());
        // The same person re-authenticating stays in the same SSO session (a stable sid), with a new auth_time.
        Assert.Equal(before.GetProperty("sid").GetString(), after.GetProperty("sid").GetString());
        Assert.True(after.GetProperty("auth_time").GetInt64() >= before.GetProperty("auth_time").GetInt64());

        // The session is an ordinary one afterwards: the next request needs no page.
        var silent = await Kit.CodeFlowAsync(browser, client, user: null, prompt: "none");
        Assert.Equal(after.GetProperty("sid").GetString(), OidcKit.JwtPayload(silent.Tokens.IdentityToken!).GetProperty("sid").GetString());
    }

    [Fact]
    public async Task EndSession_IdTokenHintAndRegisteredPostLogoutUri_RedirectsWithStateAndEndsSession()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);
        var disco = await Kit.DiscoveryAsync();
        var state = OidcKit.UniqueId("logout-state");
        var url = new RequestUrl(disco.EndSessionEndpoint!).CreateEndSessionUrl(signIn.Tokens.IdentityToken, client.PostLogoutRedirectUri, state);

        var outcome = await browser.AuthorizeAsync(url);

        Assert.True(outcome.Callback is not null, $"No redirect: HTTP {(int)outcome.FinalStatus} at {outcome.LastUrl}: {OidcKit.Shorten(outcome.FinalBody)}");
        Assert.Equal(client.PostLogoutRedirectUri, outcome.Callback!.GetLeftPart(UriPartial.Path));
        Assert.Equal(state, HttpUtility.ParseQueryString(outcome.Callback.Query)["state"]);

        var (afterLogout, _) = await PromptNoneAsync(browser, client);
        Assert.Equal("login_required", afterLogout["error"]);
    }

    [Fact]
    public async Task EndSession_UnregisteredPostLogoutUri_ErrorPageAndSessionKept()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var browser = NewBrowser();
        var signIn = await Kit.CodeFlowAsync(browser, client, user);
        var disco = await Kit.DiscoveryAsync();
        var url = new RequestUrl(disco.EndSessionEndpoint!).CreateEndSessionUrl(
            signIn.Tokens.IdentityToken, "https://attacker.example/signout-callback-oidc", OidcKit.UniqueId("state"));

        using var http = Server.CreateHttpClient(followRedirects: false, cookies: browser.Cookies);
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<code id=\"error-code\">invalid_request</code>", body, StringComparison.Ordinal);

        // A refused logout request ends nothing.
        var (callback, _) = await PromptNoneAsync(browser, client);
        Assert.Null(callback["error"]);
        Assert.False(string.IsNullOrEmpty(callback["code"]));
    }
}
