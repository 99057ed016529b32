using IdentityHub.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IdentityHub.Tests.Browser;

/// <summary>IdentityHub with its demo data, the DemoPortal sample pointing at it, and headless Chromium.</summary>
public sealed class DemoPortalFixture : IAsyncLifetime
{
    public const string Password = "Demo-Passw0rd";

    public IdentityHubServer Server { get; private set; } = null!;

    public DemoPortalHost Portal { get; private set; } = null!;

    public Infrastructure.Browser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var portalAddress = DemoPortalHost.ReserveLoopbackAddress();
        Server = await IdentityHubServer.StartAsync("Sqlite", settings =>
        {
            settings["DemoData:Enabled"] = "true";
            settings["DemoData:PortalBaseUrl"] = portalAddress.ToString().TrimEnd('/');
            settings["DemoData:CitizenPassword"] = Password;
        });
        Portal = await DemoPortalHost.StartAsync(portalAddress, Server.Authority);
        Browser = await Infrastructure.Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        if (Portal is not null)
        {
            await Portal.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

public sealed class DemoPortalBrowserTests(DemoPortalFixture fixture) : IClassFixture<DemoPortalFixture>
{
    private bool IsLoginPage(string url) =>
        url.StartsWith(fixture.Server.Authority + "/Account/Login", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public async Task SignIn_ProfileShowsIdTokenClaims_SignOutEndsBothSessions()
    {
        var page = await fixture.Browser.NewPageAsync(locale: "zh-CN");

        // A protected page of the portal sends the browser to IdentityHub's sign-in page, in Chinese.
        await page.GotoAsync(fixture.Portal.Url("/profile"));
        await Infrastructure.Browser.WaitForUrlAsync(page, IsLoginPage);
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "zh-CN");
        await Expect(page.Locator("h1")).ToHaveTextAsync("登录");
        await Expect(page.Locator("#client-name")).ToContainTextAsync("演示部门网上办事大厅");
        await Infrastructure.Browser.ScreenshotAsync(page, "identityhub-login-zh");

        await page.Locator("input[name='Input.SignInName']").FillAsync("zhangsan");
        await page.Locator("input[name='Input.Password']").FillAsync(DemoPortalFixture.Password);
        await page.Locator("#login-submit").ClickAsync();

        // Back on the portal, signed in: the ID token carries the session facts.
        await Infrastructure.Browser.WaitForUrlAsync(page, fixture.Portal.Url("/profile"));
        await Expect(page.Locator("#person-name")).ToHaveTextAsync("张三");
        var idToken = page.Locator("#id-token-claims");
        await Expect(ClaimValue(idToken, "iss")).ToHaveTextAsync(fixture.Server.Authority + "/");
        await Expect(ClaimValue(idToken, "aud")).ToHaveTextAsync("demo-portal");
        await Expect(ClaimValue(idToken, "sub")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\S+$"));
        await Expect(ClaimValue(idToken, "sid")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9a-f]{32}$"));
        await Expect(ClaimValue(idToken, "amr")).ToHaveTextAsync("[\"pwd\"]");
        await Expect(ClaimValue(idToken, "auth_time")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]+$"));
        await Expect(ClaimValue(idToken, "name")).ToHaveTextAsync("张三");
        var userInfo = page.Locator("#userinfo-claims");
        await Expect(ClaimValue(userInfo, "name")).ToHaveTextAsync("张三");
        await Expect(ClaimValue(userInfo, "phone_number")).ToHaveTextAsync("13800138000");
        Assert.Equal(await ClaimValue(idToken, "sub").TextContentAsync(), await ClaimValue(userInfo, "sub").TextContentAsync());
        await Infrastructure.Browser.ScreenshotAsync(page, "demo-portal-profile");

        // Sign out: the portal's cookie goes, IdentityHub ends its session (RP-initiated logout with
        // id_token_hint) and sends the browser back to the portal.
        await page.Locator("#sign-out").ClickAsync();
        await Infrastructure.Browser.WaitForUrlAsync(page, fixture.Portal.Url("/"));
        await Expect(page.Locator("#signed-out")).ToBeVisibleAsync();
        await Expect(page.Locator("#sign-in")).ToBeVisibleAsync();

        // IdentityHub's session is gone too: signing in again asks for the password.
        await page.GotoAsync(fixture.Portal.Url("/profile"));
        await Infrastructure.Browser.WaitForUrlAsync(page, IsLoginPage);
        await Expect(page.Locator("#login-submit")).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignInPage_SwitchedToEnglish_StaysInTheFlow()
    {
        var page = await fixture.Browser.NewPageAsync(locale: "zh-CN");
        await page.GotoAsync(fixture.Portal.Url("/"));
        await page.Locator("#sign-in").ClickAsync();
        await Infrastructure.Browser.WaitForUrlAsync(page, IsLoginPage);
        await Expect(page.Locator("h1")).ToHaveTextAsync("登录");

        await page.GetByRole(AriaRole.Link, new() { Name = "English", Exact = true }).ClickAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "en");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Sign in");
        await Expect(page.Locator("label[for='Input_SignInName']")).ToHaveTextAsync("User name or mobile number");
        await Expect(page.Locator("#login-submit")).ToHaveTextAsync("Sign in");
        Assert.True(IsLoginPage(page.Url), page.Url);
        await Infrastructure.Browser.ScreenshotAsync(page, "identityhub-login-en");

        // The authorize request survived the language switch: signing in lands on the portal.
        await page.Locator("input[name='Input.SignInName']").FillAsync("lisi");
        await page.Locator("input[name='Input.Password']").FillAsync(DemoPortalFixture.Password);
        await page.Locator("#login-submit").ClickAsync();
        await Infrastructure.Browser.WaitForUrlAsync(page, fixture.Portal.Url("/profile"));
        await Expect(page.Locator("#person-name")).ToHaveTextAsync("李四");
        await page.Context.CloseAsync();
    }

    /// <summary>The value cell of a claim row in one of the profile page's claim tables.</summary>
    private static ILocator ClaimValue(ILocator table, string claim) =>
        table.Locator($"tr[data-claim='{claim}'] td:nth-child(2) code");
}
