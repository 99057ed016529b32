using System.Net;
using System.Web;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// Accounts:AnswerAuthorizeAfterSignIn (on by default): the sign-in form's post answers the authorization request it was
/// made for, as a direct authorize request of the signed-in browser would be answered, refusals included.
/// </summary>
public abstract partial class OidcProtocolTests
{
    [Fact]
    public async Task SignInPost_AnswersTheAuthorizationRequest_CodeRedeems_CookieSet_NextAuthorizeIsSso()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var disco = await Kit.DiscoveryAsync();
        var cookies = new CookieContainer();
        var pkce = Pkce.Create();
        var state = OidcKit.UniqueId("state");
        var url = await Kit.AuthorizeUrlAsync(client, pkce, state, OidcKit.UniqueId("nonce"));

        var (post, _) = await PostSignInAsync(cookies, url, user);

        // One request fewer: the form post redirects straight to the client with the code, state and iss (RFC 9207).
        Assert.Equal(HttpStatusCode.Redirect, post.Status);
        Assert.Equal(client.RedirectUri, post.Location!.GetLeftPart(UriPartial.Path));
        var callback = HttpUtility.ParseQueryString(post.Location.Query);
        Assert.Null(callback["error"]);
        Assert.Equal(state, callback["state"]);
        Assert.Equal(disco.Issuer, callback["iss"]);
        Assert.True(SessionCookieSet(cookies), "The sign-in's session cookie is in the answer.");

        var tokens = await Kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
        Assert.Equal(user.Id, OidcKit.JwtPayload(tokens.IdentityToken!).GetProperty("sub").GetString());

        // The cookie set with the code is a working session: the next authorize is answered without a page.
        var again = await SendAsync(cookies, await Kit.AuthorizeUrlAsync(client, Pkce.Create(), OidcKit.UniqueId("state"), prompt: "none"));
        Assert.Equal(HttpStatusCode.Redirect, again.Status);
        var sso = HttpUtility.ParseQueryString(again.Location!.Query);
        Assert.Null(sso["error"]);
        Assert.False(string.IsNullOrEmpty(sso["code"]));
    }

    [Fact]
    public async Task SignInPost_ResponseModeFormPost_AnswersWithTheAutoSubmittedForm()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var state = OidcKit.UniqueId("state");
        var url = await Kit.AuthorizeUrlAsync(client, Pkce.Create(), state) + "&response_mode=form_post";

        var (post, _) = await PostSignInAsync(new CookieContainer(), url, user);

        // OAuth 2.0 Form Post Response Mode, section 2: an HTML form posting code and state to the redirect_uri.
        Assert.Equal(HttpStatusCode.OK, post.Status);
        Assert.Contains($"action=\"{client.RedirectUri}\"", post.Body, StringComparison.Ordinal);
        Assert.Contains("name=\"code\"", post.Body, StringComparison.Ordinal);
        Assert.Contains($"value=\"{state}\"", post.Body, StringComparison.Ordinal);
    }

    /// <summary>
    /// A ReturnUrl changed between the authorize request and the form post is refused exactly as the same URL sent
    /// directly by the signed-in browser: OpenIddict's checks run in the replay too. The cookie stays set either way.
    /// </summary>
    [Theory]
    [InlineData("other-client")]
    [InlineData("unregistered-redirect")]
    [InlineData("plain-pkce")]
    public async Task SignInPost_TamperedReturnUrl_RefusedAsADirectAuthorize(string variant)
    {
        var client = await Kit.RegisterWebClientAsync();
        var other = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var pkce = Pkce.Create();
        var state = OidcKit.UniqueId("state");
        var tampered = variant switch
        {
            "other-client" => await Kit.AuthorizeUrlAsync(other, pkce, state, redirectUri: client.RedirectUri),
            "unregistered-redirect" => await Kit.AuthorizeUrlAsync(client, pkce, state, redirectUri: "https://attacker.example/signin-oidc"),
            "plain-pkce" => await Kit.AuthorizeUrlAsync(client, pkce with { Challenge = pkce.Verifier }, state, codeChallengeMethod: "plain"),
            _ => throw new ArgumentOutOfRangeException(nameof(variant)),
        };
        var cookies = new CookieContainer();

        var (post, _) = await PostSignInAsync(cookies, await Kit.AuthorizeUrlAsync(client, pkce, state), user,
            returnUrl: new Uri(tampered).PathAndQuery);
        Assert.True(SessionCookieSet(cookies), "The sign-in's session cookie is in the answer.");
        var direct = await SendAsync(cookies, tampered);

        Assert.Equal(direct.Status, post.Status);
        Assert.Equal(direct.Location, post.Location);
        Assert.DoesNotContain("code=", post.Location?.Query ?? "", StringComparison.Ordinal);
        if (variant == "plain-pkce")
        {
            Assert.Equal("invalid_request", HttpUtility.ParseQueryString(post.Location!.Query)["error"]);
        }
        else
        {
            Assert.Equal(HttpStatusCode.BadRequest, post.Status);
            Assert.Contains("<code id=\"error-code\">invalid_request</code>", post.Body, StringComparison.Ordinal);
        }

        // Signed in all the same: going back to the app with a valid request is answered without a page.
        var retry = await SendAsync(cookies, await Kit.AuthorizeUrlAsync(client, Pkce.Create(), OidcKit.UniqueId("state"), prompt: "none"));
        Assert.False(string.IsNullOrEmpty(HttpUtility.ParseQueryString(retry.Location!.Query)["code"]));
    }

    [Fact]
    public async Task SignInPost_PromptConsent_GoesToTheConsentPage()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var url = await Kit.AuthorizeUrlAsync(client, Pkce.Create(), OidcKit.UniqueId("state"), prompt: "consent");

        var (post, _) = await PostSignInAsync(new CookieContainer(), url, user);

        Assert.Equal(HttpStatusCode.Redirect, post.Status);
        Assert.Equal("/Account/Consent", post.Location!.IsAbsoluteUri ? post.Location.AbsolutePath : post.Location.OriginalString.Split('?')[0]);
    }

    /// <summary>
    /// prompt=login (OIDC Core section 3.1.2.1) with a session already open: the sign-in page's login is the fresh one the
    /// request asked for (ih.login_for), so its post answers with the code instead of asking again.
    /// </summary>
    [Theory]
    [InlineData("login", null)]
    [InlineData(null, 0)]
    public async Task SignInPost_PromptLoginOrMaxAge_SignedInBrowser_AnswersWithTheCode(string? prompt, int? maxAge)
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var cookies = new CookieContainer();
        await PostSignInAsync(cookies, await Kit.AuthorizeUrlAsync(client, Pkce.Create(), OidcKit.UniqueId("state")), user);

        var state = OidcKit.UniqueId("state");
        var (post, loginPage) = await PostSignInAsync(cookies, await Kit.AuthorizeUrlAsync(client, Pkce.Create(), state, prompt: prompt, maxAge: maxAge), user);

        Assert.Equal("/Account/Login", loginPage.AbsolutePath);
        Assert.Equal(HttpStatusCode.Redirect, post.Status);
        Assert.Equal(client.RedirectUri, post.Location!.GetLeftPart(UriPartial.Path));
        var callback = HttpUtility.ParseQueryString(post.Location.Query);
        Assert.Equal(state, callback["state"]);
        Assert.False(string.IsNullOrEmpty(callback["code"]));
    }

    [Fact]
    public async Task SignInPost_OptionOff_RedirectsBackToTheAuthorizationEndpoint()
    {
        await using var server = await IdentityHubServer.StartAsync(Provider, settings => settings["Accounts:AnswerAuthorizeAfterSignIn"] = "false");
        var kit = new OidcKit(server);
        var client = await kit.RegisterWebClientAsync();
        var user = await kit.CreateUserAsync();
        var url = await kit.AuthorizeUrlAsync(client, Pkce.Create(), OidcKit.UniqueId("state"));
        var cookies = new CookieContainer();

        var (post, _) = await PostSignInAsync(server, cookies, url, user, returnUrl: null);

        // Today's answer: back to the authorization endpoint, which the browser then asks with the new cookie.
        Assert.Equal(HttpStatusCode.Redirect, post.Status);
        Assert.StartsWith("/connect/authorize?", post.Location!.OriginalString, StringComparison.Ordinal);
        Assert.True(SessionCookieSet(cookies, server));
        var authorize = await SendAsync(cookies, new Uri(server.BaseAddress, post.Location).ToString(), server);
        Assert.Equal(client.RedirectUri, authorize.Location!.GetLeftPart(UriPartial.Path));
        Assert.False(string.IsNullOrEmpty(HttpUtility.ParseQueryString(authorize.Location.Query)["code"]));
    }

    private sealed record Answer(HttpStatusCode Status, Uri? Location, string Body);

    private Task<(Answer Post, Uri LoginPage)> PostSignInAsync(CookieContainer cookies, string authorizeUrl, TestUser user, string? returnUrl = null) =>
        PostSignInAsync(Server, cookies, authorizeUrl, user, returnUrl);

    /// <summary>
    /// The browser's first three requests: the authorize URL (to the sign-in page), the sign-in page, the form post with
    /// its antiforgery token and the page's ReturnUrl (or <paramref name="returnUrl"/> in its place). Returns the post's answer.
    /// </summary>
    private static async Task<(Answer Post, Uri LoginPage)> PostSignInAsync(IdentityHubServer server, CookieContainer cookies, string authorizeUrl,
        TestUser user, string? returnUrl)
    {
        using var http = server.CreateHttpClient(followRedirects: false, cookies: cookies);
        using var authorize = await http.GetAsync(authorizeUrl);
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        var loginPage = new Uri(server.BaseAddress, authorize.Headers.Location!);
        Assert.Equal("/Account/Login", loginPage.AbsolutePath);
        var html = await http.GetStringAsync(loginPage);
        using var post = await http.PostAsync(loginPage, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.SignInName"] = user.UserName,
            ["Input.Password"] = user.Password,
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
            ["ReturnUrl"] = returnUrl ?? HttpUtility.ParseQueryString(loginPage.Query)["ReturnUrl"]!,
        }));
        return (new Answer(post.StatusCode, post.Headers.Location, await post.Content.ReadAsStringAsync()), loginPage);
    }

    private async Task<Answer> SendAsync(CookieContainer cookies, string url, IdentityHubServer? server = null)
    {
        using var http = (server ?? Server).CreateHttpClient(followRedirects: false, cookies: cookies);
        using var response = await http.GetAsync(url);
        return new Answer(response.StatusCode, response.Headers.Location, await response.Content.ReadAsStringAsync());
    }

    private bool SessionCookieSet(CookieContainer cookies, IdentityHubServer? server = null) =>
        cookies.GetCookies((server ?? Server).BaseAddress).Any(c => c.Name == LoginForm.SessionCookie && !c.Expired && c.Value.Length > 0);
}
