using IdentityHub.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IdentityHub.Tests.Factors;

/// <summary>
/// IdentityHub at http://localhost:port (WebAuthn needs a domain as its relying party id, not an IP
/// address), the DemoPortal pointing at it, and headless Chromium with a CDP virtual authenticator.
/// </summary>
public sealed class PasskeyBrowserFixture : IAsyncLifetime
{
    public IdentityHubServer Server { get; private set; } = null!;

    public DemoPortalHost Portal { get; private set; } = null!;

    public Infrastructure.Browser Browser { get; private set; } = null!;

    /// <summary>The server's address under the name localhost.</summary>
    public string Authority => Localhost(Server.Authority);

    /// <summary>
    /// A portal page, also under localhost: the portal's correlation cookie must be same-site with
    /// IdentityHub when the browser comes back to /signin-oidc.
    /// </summary>
    public string PortalUrl(string path) => Localhost(Portal.Url(path));

    private static string Localhost(string url) => url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);

    public async Task InitializeAsync()
    {
        var portalAddress = DemoPortalHost.ReserveLoopbackAddress();
        Server = await IdentityHubServer.StartAsync("Sqlite", settings =>
        {
            settings["DemoData:Enabled"] = "true";
            settings["DemoData:PortalBaseUrl"] = Localhost(portalAddress.ToString().TrimEnd('/'));
        });
        Portal = await DemoPortalHost.StartAsync(portalAddress, Authority);
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

public sealed class PasskeyBrowserTests(PasskeyBrowserFixture fixture) : IClassFixture<PasskeyBrowserFixture>
{
    /// <summary>
    /// A platform authenticator with user verification (CDP WebAuthn domain): device-bound as a laptop's,
    /// or syncable (backup eligible) as a password manager's.
    /// </summary>
    private static async Task AddVirtualAuthenticatorAsync(IPage page, bool synced = false)
    {
        var cdp = await page.Context.NewCDPSessionAsync(page);
        await cdp.SendAsync("WebAuthn.enable");
        await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new Dictionary<string, object>
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2",
                ["transport"] = "internal",
                ["hasResidentKey"] = true,
                ["hasUserVerification"] = true,
                ["isUserVerified"] = true,
                ["defaultBackupEligibility"] = synced,
                ["defaultBackupState"] = synced,
                ["automaticPresenceSimulation"] = true,
            },
        });
    }

    [Fact]
    public async Task Passkey_RegisteredWithVirtualAuthenticator_SignsInToThePortalWithoutPassword()
    {
        var userName = "p" + Guid.NewGuid().ToString("N")[..12];
        const string password = "a passphrase typed only once";
        await new AdminApiClient(fixture.Server).CreateUserAsync(userName, password, displayName: "王五");

        var page = await fixture.Browser.NewPageAsync(locale: "en");
        await AddVirtualAuthenticatorAsync(page);

        // Register: sign in with the password once, then add a passkey on the account pages.
        await page.GotoAsync(fixture.Authority + "/Account/Login");
        await page.Locator("input[name='Input.SignInName']").FillAsync(userName);
        await page.Locator("input[name='Input.Password']").FillAsync(password);
        await page.Locator("#login-submit").ClickAsync();
        await Expect(page.Locator("#signed-in")).ToBeVisibleAsync();
        await page.GotoAsync(fixture.Authority + "/Account/Manage/Passkeys");
        await page.Locator("#Name").FillAsync("Test laptop");
        await page.Locator("#passkey-add").ClickAsync();
        await Expect(page.Locator("#passkeys li[data-passkey-name='Test laptop']")).ToBeVisibleAsync();
        await Infrastructure.Browser.ScreenshotAsync(page, "identityhub-passkeys-en");

        // Sign out of IdentityHub.
        await page.GotoAsync(fixture.Authority + "/Account/Logout");
        await page.Locator("#logout-submit").ClickAsync();
        await Expect(page.Locator("#signed-out")).ToBeVisibleAsync();

        // The portal sends the browser to IdentityHub; the passkey signs in, no password typed.
        await page.GotoAsync(fixture.PortalUrl("/profile"));
        await Infrastructure.Browser.WaitForUrlAsync(page, url => url.StartsWith(fixture.Authority + "/Account/Login", StringComparison.Ordinal));
        await page.Locator("#passkey-signin").ClickAsync();
        await Infrastructure.Browser.WaitForUrlAsync(page, fixture.PortalUrl("/profile"));
        await Expect(page.Locator("#person-name")).ToHaveTextAsync("王五");
        var idToken = page.Locator("#id-token-claims");
        await Expect(ClaimValue(idToken, "amr")).ToHaveTextAsync("[\"hwk\",\"mfa\"]");
        await Expect(ClaimValue(idToken, "acr")).ToHaveTextAsync("urn:identityhub:acr:mfa");
        await Infrastructure.Browser.ScreenshotAsync(page, "demo-portal-profile-passkey");

        // Remove it on the account pages.
        await page.GotoAsync(fixture.Authority + "/Account/Manage/Passkeys");
        await page.Locator("#passkeys li[data-passkey-name='Test laptop'] button").ClickAsync();
        await Expect(page.Locator("#passkeys-none")).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Passkey_SyncedAuthenticator_SignsInAsSwkMfa()
    {
        var userName = "p" + Guid.NewGuid().ToString("N")[..12];
        const string password = "another passphrase typed only once";
        await new AdminApiClient(fixture.Server).CreateUserAsync(userName, password);

        var page = await fixture.Browser.NewPageAsync(locale: "zh-CN");
        await AddVirtualAuthenticatorAsync(page, synced: true);
        await page.GotoAsync(fixture.Authority + "/Account/Login");
        await page.Locator("input[name='Input.SignInName']").FillAsync(userName);
        await page.Locator("input[name='Input.Password']").FillAsync(password);
        await page.Locator("#login-submit").ClickAsync();
        await Expect(page.Locator("#signed-in")).ToBeVisibleAsync();
        await page.GotoAsync(fixture.Authority + "/Account/Manage/Authenticator");
        await Expect(page.Locator("#totp-qr")).ToBeVisibleAsync();
        await Infrastructure.Browser.ScreenshotAsync(page, "identityhub-authenticator-zh");
        await page.GotoAsync(fixture.Authority + "/Account/Manage/Passkeys");
        await page.Locator("#passkey-add").ClickAsync();
        await Expect(page.Locator("#passkeys li")).ToHaveCountAsync(1);
        await page.Context.ClearCookiesAsync();

        await page.GotoAsync(fixture.Authority + "/Account/Login");
        await page.Locator("#passkey-signin").ClickAsync();
        await Expect(page.Locator("#signed-in")).ToBeVisibleAsync();
        await page.GotoAsync(fixture.Authority + "/Account/Manage");
        await Expect(page.Locator("#session-amr")).ToHaveTextAsync("swk mfa");
        await Expect(page.Locator("#session-acr")).ToHaveTextAsync("urn:identityhub:acr:mfa");
        await Infrastructure.Browser.ScreenshotAsync(page, "identityhub-manage-zh");
        await page.Context.CloseAsync();
    }

    private static ILocator ClaimValue(ILocator table, string claim) =>
        table.Locator($"tr[data-claim='{claim}'] td:nth-child(2) code");
}
