using System.Net;
using System.Security.Cryptography;
using System.Text;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Hosting;

/// <summary>
/// The pages people see: Simplified Chinese by default, English on request (language cookie,
/// Accept-Language, ui_locales), and friendly error pages without stack traces.
/// </summary>
public sealed class LocalizedPagesTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    private readonly IdentityHubServer _server = fixture.Server;

    [Fact]
    public async Task LoginPage_NoLanguagePreference_IsSimplifiedChinese()
    {
        var (status, html) = await new LoginForm(_server).GetPageAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        AssertChinese(html);
        Assert.Contains("<h1>登录</h1>", html, StringComparison.Ordinal);
        Assert.Contains("用户名或手机号", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginPage_UnsupportedAcceptLanguage_FallsBackToSimplifiedChinese()
    {
        var (_, html) = await new LoginForm(_server).GetPageAsync(acceptLanguage: "fr-FR");

        AssertChinese(html);
    }

    [Fact]
    public async Task LoginPage_CultureCookieSetByCultureSwitch_IsEnglish()
    {
        var browser = new LoginForm(_server);
        using (var http = _server.CreateHttpClient(cookies: browser.Cookies))
        {
            using var switched = await http.GetAsync("/culture?culture=en&returnUrl=" + Uri.EscapeDataString("/Account/Login"));
            Assert.Equal(HttpStatusCode.Redirect, switched.StatusCode);
            Assert.Equal("/Account/Login", switched.Headers.Location?.OriginalString);
        }

        Assert.Contains(browser.Cookies.GetCookies(_server.BaseAddress), c => c.Name == ".AspNetCore.Culture");
        var (_, html) = await browser.GetPageAsync();

        AssertEnglish(html);
        Assert.Contains("User name or mobile number", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CultureSwitch_BackToChinese_OverridesEnglishAcceptLanguage()
    {
        var browser = new LoginForm(_server);
        using (var http = _server.CreateHttpClient(cookies: browser.Cookies))
        {
            using var switched = await http.GetAsync("/culture?culture=zh-CN&returnUrl=%2FAccount%2FLogin");
            Assert.Equal(HttpStatusCode.Redirect, switched.StatusCode);
        }

        var (_, html) = await browser.GetPageAsync(acceptLanguage: "en-US");

        AssertChinese(html);
    }

    [Fact]
    public async Task CultureSwitch_ExternalReturnUrl_RedirectsHome()
    {
        using var http = _server.CreateHttpClient();

        using var response = await http.GetAsync("/culture?culture=en&returnUrl=" + Uri.EscapeDataString("//phishing.example.com/"));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("en")]
    [InlineData("en-US,en;q=0.9")]
    [InlineData("en-GB, zh-CN;q=0.5")]
    public async Task LoginPage_AcceptLanguageEnglish_IsEnglish(string acceptLanguage)
    {
        var (status, html) = await new LoginForm(_server).GetPageAsync(acceptLanguage: acceptLanguage);

        Assert.Equal(HttpStatusCode.OK, status);
        AssertEnglish(html);
    }

    [Fact]
    public async Task Authorize_UiLocalesEnglish_ShowsEnglishSignInPageForTheClient()
    {
        var (clientId, redirectUri) = await RegisterPortalAsync();
        var browser = new LoginForm(_server);
        using var http = _server.CreateHttpClient(cookies: browser.Cookies);
        // The browser prefers Chinese; the application asks for English through ui_locales (OIDC Core 3.1.2.1).
        http.DefaultRequestHeaders.AcceptLanguage.ParseAdd("zh-CN");

        using var authorize = await http.GetAsync(AuthorizeUrl(clientId, redirectUri) + "&ui_locales=en");
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        var login = new Uri(_server.BaseAddress, authorize.Headers.Location!);
        Assert.Equal("/Account/Login", login.AbsolutePath);
        using var page = await http.GetAsync(login);
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        AssertEnglish(html);
        Assert.Contains("Sign in to continue to", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_WithoutUiLocales_ShowsChineseSignInPage()
    {
        var (clientId, redirectUri) = await RegisterPortalAsync();
        using var http = _server.CreateHttpClient(cookies: new CookieContainer());

        using var authorize = await http.GetAsync(AuthorizeUrl(clientId, redirectUri));
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        using var page = await http.GetAsync(new Uri(_server.BaseAddress, authorize.Headers.Location!));
        var html = await page.Content.ReadAsStringAsync();

        Assert.True(page.StatusCode == HttpStatusCode.OK, $"{(int)page.StatusCode}: {html}");
        AssertChinese(html);
        Assert.Contains("登录后继续访问", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPath_ShowsFriendlyChinese404WithoutStackTrace()
    {
        using var http = _server.CreateHttpClient();

        using var response = await http.GetAsync("/no-such-page/" + Guid.NewGuid().ToString("N"));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        AssertChinese(html);
        Assert.Contains("您访问的页面不存在", html, StringComparison.Ordinal);
        AssertNoStackTrace(html);
    }

    /// <summary>A form ASP.NET Core refuses to read (a NUL in a value) posted to a page: the friendly 400 page, not a 500.</summary>
    [Fact]
    public async Task LoginForm_WithNulCharacter_ShowsFriendly400WithoutStackTrace()
    {
        using var http = _server.CreateHttpClient();

        using var response = await http.PostAsync("/Account/Login", new StringContent(
            "Input.SignInName=a%00b&Input.Password=x", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        AssertChinese(html);
        AssertNoStackTrace(html);
    }

    [Fact]
    public async Task UnknownPath_EnglishBrowser_ShowsFriendlyEnglish404()
    {
        using var http = _server.CreateHttpClient();
        http.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en");

        using var response = await http.GetAsync("/Account/NoSuchPage");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        AssertEnglish(html);
        Assert.Contains("The page you asked for does not exist.", html, StringComparison.Ordinal);
        AssertNoStackTrace(html);
    }

    [Fact]
    public async Task Authorize_UnknownClientId_ShowsFriendlyErrorPageWithErrorCode()
    {
        using var http = _server.CreateHttpClient();

        using var response = await http.GetAsync(AuthorizeUrl("no-such-client-" + Guid.NewGuid().ToString("N"), "https://portal.example.gov.cn/signin-oidc"));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        AssertChinese(html);
        Assert.Contains("应用发来的登录请求无法处理", html, StringComparison.Ordinal);
        Assert.Contains("<code id=\"error-code\">invalid_request</code>", html, StringComparison.Ordinal);
        AssertNoStackTrace(html);
    }

    [Fact]
    public async Task Authorize_UnregisteredRedirectUri_ShowsErrorPageInsteadOfRedirecting()
    {
        var (clientId, _) = await RegisterPortalAsync();
        using var http = _server.CreateHttpClient();
        http.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en");

        using var response = await http.GetAsync(AuthorizeUrl(clientId, "https://phishing.example.com/signin-oidc"));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        AssertEnglish(html);
        Assert.Contains("id=\"error-code\"", html, StringComparison.Ordinal);
        AssertNoStackTrace(html);
    }

    private async Task<(string ClientId, string RedirectUri)> RegisterPortalAsync()
    {
        var clientId = UniqueNames.Client();
        var redirectUri = $"https://{clientId}.portal.example.gov.cn/signin-oidc";
        await new AdminApiClient(_server).RegisterClientAsync(clientId, "public", ["authorization_code"], [redirectUri],
            ["openid", "profile"], departmentCode: UniqueNames.Department());
        return (clientId, redirectUri);
    }

    private static string AuthorizeUrl(string clientId, string redirectUri)
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        return "/connect/authorize?client_id=" + Uri.EscapeDataString(clientId)
            + "&response_type=code&scope=openid%20profile"
            + "&redirect_uri=" + Uri.EscapeDataString(redirectUri)
            + "&state=" + Base64Url(RandomNumberGenerator.GetBytes(8))
            + "&code_challenge=" + Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) + "&code_challenge_method=S256";
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static void AssertChinese(string html)
    {
        Assert.Contains("<html lang=\"zh-CN\">", html, StringComparison.Ordinal);
        Assert.Contains("统一身份认证平台", html, StringComparison.Ordinal);
        Assert.DoesNotContain("City Identity Hub", html, StringComparison.Ordinal);
    }

    private static void AssertEnglish(string html)
    {
        Assert.Contains("<html lang=\"en\">", html, StringComparison.Ordinal);
        Assert.Contains("City Identity Hub", html, StringComparison.Ordinal);
        Assert.DoesNotContain("登录", html, StringComparison.Ordinal);
        Assert.DoesNotContain("统一身份认证平台", html, StringComparison.Ordinal);
    }

    private static void AssertNoStackTrace(string html)
    {
        Assert.DoesNotContain("Exception", html, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", html, StringComparison.Ordinal);
        Assert.DoesNotContain(".cs:line", html, StringComparison.Ordinal);
    }
}
