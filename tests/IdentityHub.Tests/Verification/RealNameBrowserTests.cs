using IdentityHub.Server.Factors.Sms;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IdentityHub.Tests.Verification;

/// <summary>
/// IdentityHub, the verification simulator, two DemoPortal department apps (one needs L2 and asks for verified_claims
/// and the enterprise scope, one needs L3) and headless Chromium.
/// </summary>
public sealed class RealNameBrowserFixture : JourneyFixture
{
    public const string ClaimsRequest =
        "{\"id_token\":{\"verified_claims\":{\"verification\":{\"trust_framework\":null},\"claims\":{\"name\":null,\"birthdate\":null,\"id_number\":null}}}}";

    public DemoPortalHost L2App { get; private set; } = null!;

    public DemoPortalHost L3App { get; private set; } = null!;

    public Infrastructure.Browser Browser { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        L2App = await PortalAsync(2, "openid profile identity enterprise", ClaimsRequest);
        L3App = await PortalAsync(3, "openid profile", null);
        Browser = await Infrastructure.Browser.LaunchAsync();
    }

    private async Task<DemoPortalHost> PortalAsync(int level, string scopes, string? claims)
    {
        var address = DemoPortalHost.ReserveLoopbackAddress();
        var portal = address.ToString().TrimEnd('/');
        var clientId = UniqueNames.Client();
        var secret = await RelyingParty.RegisterClientAsync(this, clientId,
            new { name = "full", birthdate = "full", id_number = "masked", verification_level = "full", enterprise = "full" }, level, scopes,
            [portal + "/signin-oidc"], [portal + "/signout-callback-oidc"]);
        return await DemoPortalHost.StartAsync(address, Server.Authority, settings: new Dictionary<string, string?>
        {
            ["Oidc:ClientId"] = clientId,
            ["Oidc:ClientSecret"] = secret,
            ["Oidc:Scopes"] = scopes,
            ["Oidc:ClaimsRequest"] = claims,
        });
    }

    public override async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await L2App.DisposeAsync();
        await L3App.DisposeAsync();
        await base.DisposeAsync();
    }
}

public sealed class RealNameBrowserTests(RealNameBrowserFixture fixture) : IClassFixture<RealNameBrowserFixture>
{
    private bool At(string url, string path) => url.StartsWith(fixture.Server.Authority + path, StringComparison.OrdinalIgnoreCase);

    [Fact]
    public async Task Citizen_RegistersVerifiesAndSignsInToAnL2App_ReceivesVerifiedClaims()
    {
        var (mobile, idNumber) = (UniqueNames.Mobile(), TestIdentities.NewIdNumber(male: false));
        await fixture.Simulator.AddPersonAsync("王小红", idNumber, mobile);
        var page = await fixture.Browser.NewPageAsync();

        // The department app sends the browser to IdentityHub; there is no account yet: register.
        await page.GotoAsync(fixture.L2App.Url("/profile"));
        await WaitAsync(page, url => At(url, "/Account/Login"));
        await page.Locator("#login-register").ClickAsync();
        await WaitAsync(page, url => At(url, "/Account/Register"));
        await page.Locator("#mobile").FillAsync(mobile);
        await page.Locator("#send-code").ClickAsync();
        await Expect(page.Locator("#code-sent")).ToBeVisibleAsync();
        await Infrastructure.Browser.ScreenshotAsync(page, "realname-register-zh");
        var sms = fixture.Server.Services.GetRequiredService<DevelopmentSmsSender>().MessagesTo(mobile)[0].Text;
        await page.Locator("#code").FillAsync(System.Text.RegularExpressions.Regex.Match(sms, "[0-9]{6}").Value);
        await page.Locator("#password").FillAsync(JourneyFixture.Password);
        await page.Locator("#confirm-password").FillAsync(JourneyFixture.Password);
        await page.Locator("#register-submit").ClickAsync();

        // Signed in at L1; verification with name and ID number (separate consent) brings L2.
        await WaitAsync(page, url => At(url, "/Account/Verify"));
        await Expect(page.Locator("#verify-level")).ToHaveAttributeAsync("data-level", "L1");
        await page.Locator("#name").FillAsync("王小红");
        await page.Locator("#id-number").FillAsync(idNumber.ToLowerInvariant());
        await page.Locator("#consent").CheckAsync();
        await Infrastructure.Browser.ScreenshotAsync(page, "realname-verify-zh");
        await page.Locator("#verify-submit").ClickAsync();

        // Back in the department app (it requires L2), with verified_claims in the ID token.
        await WaitAsync(page, fixture.L2App.Url("/profile"));
        var verified = page.Locator("#id-token-claims tr[data-claim='verified_claims'] td:nth-child(2) code");
        await Expect(verified).ToContainTextAsync("\"assurance_level\":\"L2\"");
        await Expect(verified).ToContainTextAsync("\"name\":\"王小红\"");
        await Expect(verified).ToContainTextAsync($"\"id_number\":\"{idNumber[..4]}**********{idNumber[^4..]}\"");
        await Expect(page.Locator("#id-token-claims tr[data-claim='verification_level'] td:nth-child(2) code")).ToHaveTextAsync("L2");
        await Infrastructure.Browser.ScreenshotAsync(page, "realname-portal-verified-claims");
        await page.Context.CloseAsync();

        Assert.Empty(await DatabaseScan.ColumnsContainingAsync(fixture.Server, idNumber));
        Assert.False(DatabaseScan.SqliteFilesContain(fixture.Server, idNumber));
    }

    [Fact]
    public async Task Citizen_AtL2SigningInToAnL3App_StepUpPageThenDeclineGivesTheAppTheStandardError()
    {
        var (_, mobile, _, _) = await fixture.VerifiedCitizenAsync("张小凡");
        var page = await fixture.Browser.NewPageAsync(locale: "en");

        await page.GotoAsync(fixture.L3App.Url("/profile"));
        await WaitAsync(page, url => At(url, "/Account/Login"));
        await page.Locator("input[name='Input.SignInName']").FillAsync(mobile);
        await page.Locator("input[name='Input.Password']").FillAsync(JourneyFixture.Password);
        await page.Locator("#login-submit").ClickAsync();

        await WaitAsync(page, url => At(url, "/Account/Verify"));
        await Expect(page.Locator("#step-up-required")).ToHaveAttributeAsync("data-required", "L3");
        await Expect(page.Locator("#step-up-hall")).ToBeVisibleAsync();
        await Infrastructure.Browser.ScreenshotAsync(page, "realname-step-up-en");
        await page.Locator("#verify-decline").ClickAsync();

        await WaitAsync(page, url => url.StartsWith(fixture.L3App.Url("/?error="), StringComparison.Ordinal));
        await Expect(page.Locator("#sign-in-error")).ToContainTextAsync("unmet_authentication_requirements");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Enterprise_RegisteredAgentAuthorisedActsForItThenRevokedActsAlone()
    {
        var (_, representativeMobile, representative, _) = await fixture.VerifiedCitizenAsync("郭靖");
        var (_, agentMobile, agent, _) = await fixture.VerifiedCitizenAsync("杨康");
        var code = TestIdentities.NewCreditCode();
        await fixture.Simulator.AddEnterpriseAsync(code, "桃花岛实业有限公司", representative);

        // The legal representative registers the enterprise and authorises the agent.
        var owner = await fixture.Browser.NewPageAsync();
        await SignInAtIdentityHubAsync(owner, representativeMobile);
        await owner.GotoAsync(fixture.Server.Authority + "/Account/Enterprises");
        await owner.Locator("#credit-code").FillAsync(code);
        await owner.Locator("#enterprise-name").FillAsync("桃花岛实业有限公司");
        await owner.Locator("#enterprise-register").ClickAsync();
        await Expect(owner.Locator($"li[data-credit-code='{code}']")).ToHaveAttributeAsync("data-status", "Verified");
        await owner.Locator($"li[data-credit-code='{code}'] a.manage-agents").ClickAsync();
        await owner.Locator("#agent-mobile").FillAsync(agentMobile);
        await owner.Locator("#agent-name").FillAsync(agent);
        await owner.Locator("#agent-expires").FillAsync(DateTime.UtcNow.AddDays(90).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        await owner.Locator("#agent-grant").ClickAsync();
        await Expect(owner.Locator("#agent-list li[data-active='true']")).ToHaveCountAsync(1);
        await Infrastructure.Browser.ScreenshotAsync(owner, "realname-agents-zh");

        // The agent signs in to the department app acting for the enterprise.
        var page = await fixture.Browser.NewPageAsync();
        await page.GotoAsync(fixture.L2App.Url("/profile"));
        await WaitAsync(page, url => At(url, "/Account/Login"));
        await page.Locator("input[name='Input.SignInName']").FillAsync(agentMobile);
        await page.Locator("input[name='Input.Password']").FillAsync(JourneyFixture.Password);
        await page.Locator("#login-submit").ClickAsync();
        await WaitAsync(page, url => At(url, "/Account/ActingFor"));
        await Infrastructure.Browser.ScreenshotAsync(page, "realname-acting-for-zh");
        await page.Locator($"button.acting-enterprise[data-credit-code='{code}']").ClickAsync();
        await WaitAsync(page, fixture.L2App.Url("/profile"));
        await Expect(ClaimValue(page, "enterprise")).ToContainTextAsync($"\"credit_code\":\"{code}\"");
        await Expect(ClaimValue(page, "enterprise")).ToContainTextAsync("桃花岛实业有限公司");
        await Expect(ClaimValue(page, "act")).ToContainTextAsync("\"role\":\"agent\"");

        // Revoked: the next sign-in offers no enterprise, and the tokens carry none.
        await owner.Locator("button.revoke-agent").ClickAsync();
        await Expect(owner.Locator("#agent-list li[data-active='false']")).ToHaveCountAsync(1);
        await page.Locator("#sign-out").ClickAsync();
        await WaitAsync(page, fixture.L2App.Url("/"));
        // The portal's signed-out home page, rendered: the sign-out's redirect chain is over before the next navigation.
        await Expect(page.Locator("#signed-out")).ToBeVisibleAsync();
        await page.GotoAsync(fixture.L2App.Url("/profile"));
        await WaitAsync(page, url => At(url, "/Account/Login"));
        await page.Locator("input[name='Input.SignInName']").FillAsync(agentMobile);
        await page.Locator("input[name='Input.Password']").FillAsync(JourneyFixture.Password);
        await page.Locator("#login-submit").ClickAsync();
        await WaitAsync(page, fixture.L2App.Url("/profile"));
        await Expect(page.Locator("#id-token-claims tr[data-claim='enterprise']")).ToHaveCountAsync(0);
        await Expect(page.Locator("#id-token-claims tr[data-claim='act']")).ToHaveCountAsync(0);
        await owner.Context.CloseAsync();
        await page.Context.CloseAsync();
    }

    /// <summary>Waits for a URL by the URL alone; a timeout says where the browser is instead, and what the page says.</summary>
    private static Task WaitAsync(IPage page, string url) => Infrastructure.Browser.WaitForUrlAsync(page, url);

    private static Task WaitAsync(IPage page, Func<string, bool> url) => Infrastructure.Browser.WaitForUrlAsync(page, url);

    private async Task SignInAtIdentityHubAsync(IPage page, string mobile)
    {
        await page.GotoAsync(fixture.Server.Authority + "/Account/Login");
        await page.Locator("input[name='Input.SignInName']").FillAsync(mobile);
        await page.Locator("input[name='Input.Password']").FillAsync(JourneyFixture.Password);
        await page.Locator("#login-submit").ClickAsync();
        await Expect(page.Locator("#signed-in")).ToBeVisibleAsync();
    }

    private static ILocator ClaimValue(IPage page, string claim) => page.Locator($"#id-token-claims tr[data-claim='{claim}'] td:nth-child(2) code");
}
