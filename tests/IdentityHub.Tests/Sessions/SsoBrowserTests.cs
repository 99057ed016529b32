using Duende.IdentityModel.Client;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IdentityHub.Tests.Sessions;

/// <summary>
/// One login across departments, in headless Chromium: sign in at the social security portal, use the housing
/// provident fund portal without a password, sign out there, and the social security portal hears of it over the
/// back channel, even when an app is down at the moment of logout.
/// </summary>
public sealed class SsoBrowserTests(SsoPortalsFixture fixture) : IClassFixture<SsoPortalsFixture>
{
    [Fact]
    public async Task SecondDepartmentApp_SameBrowser_NoPromptAndSigningOutThereEndsTheFirst()
    {
        var social = fixture.SocialSecurity;
        var housing = fixture.HousingFund!;
        var page = await fixture.Browser.NewPageAsync();
        var loginPages = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Url.StartsWith(fixture.Server.Authority + "/Account/Login", StringComparison.OrdinalIgnoreCase))
            {
                loginPages.Add(request.Url);
            }
        };

        await SignInAsync(page, social.Url("/profile"), "zhangsan");
        await Infrastructure.Browser.WaitForUrlAsync(page, social.Url("/profile"));
        await Expect(page.Locator("#person-name")).ToHaveTextAsync("张三");
        await Expect(page.Locator("#portal-name")).ToContainTextAsync("社会保障网上服务大厅");
        var socialSid = await ClaimAsync(page, "sid");
        var socialSub = await ClaimAsync(page, "sub");
        loginPages.Clear();

        // The second department app: IdentityHub's session signs the person in without the sign-in page.
        await page.GotoAsync(housing.Url("/profile"));
        await Infrastructure.Browser.WaitForUrlAsync(page, housing.Url("/profile"));
        await Expect(page.Locator("#person-name")).ToHaveTextAsync("张三");
        await Expect(page.Locator("#portal-name")).ToContainTextAsync("住房公积金网上服务大厅");
        Assert.Empty(loginPages);
        Assert.Equal(socialSid, await ClaimAsync(page, "sid"));
        // Two departments: two pairwise subjects for the same person.
        Assert.NotEqual(socialSub, await ClaimAsync(page, "sub"));
        await Infrastructure.Browser.ScreenshotAsync(page, "sso-housing-fund-profile");

        var refreshToken = (await SsoPortalsFixture.PortalTicketAsync(social, page.Context)).Properties.GetTokenValue("refresh_token")!;
        Assert.True((await IntrospectAsync(refreshToken)).IsActive);

        // Sign out at the second app (RP-initiated logout).
        await page.Locator("#sign-out").ClickAsync();
        // The URL, not the load event: the sign-out ends a chain of redirects across three hosts.
        await Expect(page).ToHaveURLAsync(housing.Url("/"), new() { Timeout = 60_000 });
        await Expect(page.Locator("#signed-out")).ToBeVisibleAsync(new() { Timeout = 60_000 });

        // The first app is told over the back channel; its next page load shows the person signed out.
        await Poll.UntilAsync(() => Task.FromResult(SsoPortalsFixture.PortalHeardLogout(social, socialSid)), "the social security portal's logout notice");
        await page.GotoAsync(social.Url("/"));
        await Expect(page.Locator("#signed-out")).ToBeVisibleAsync();
        await Infrastructure.Browser.ScreenshotAsync(page, "sso-social-security-signed-out");

        // And its refresh token no longer works.
        Assert.Equal("invalid_grant", (await RefreshAsync(refreshToken)).Error);
        Assert.False((await IntrospectAsync(refreshToken)).IsActive);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task BackChannel_SecondAppDownDuringLogout_ToldOnceItIsBack()
    {
        var social = fixture.SocialSecurity;
        var page = await fixture.Browser.NewPageAsync();
        await SignInAsync(page, social.Url("/profile"), "lisi");
        await Infrastructure.Browser.WaitForUrlAsync(page, social.Url("/profile"));
        var sid = await ClaimAsync(page, "sid");
        await page.GotoAsync(fixture.HousingFund!.Url("/profile"));
        await Infrastructure.Browser.WaitForUrlAsync(page, fixture.HousingFund.Url("/profile"));
        await Expect(page.Locator("#person-name")).ToHaveTextAsync("李四");

        await fixture.StopHousingFundAsync();
        await page.GotoAsync(social.Url("/profile"));
        await page.Locator("#sign-out").ClickAsync();
        await Expect(page).ToHaveURLAsync(social.Url("/"), new() { Timeout = 60_000 });
        await Expect(page.Locator("#signed-out")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        // IdentityHub tried to tell the housing fund portal, and failed: the notice waits in its queue.
        await Poll.UntilAsync(async () => await fixture.NoticeAsync(sid, fixture.HousingIdentity.ClientId) is { Attempts: > 0, DeliveredAtUtc: null },
            "a failed delivery attempt to the stopped housing fund portal");

        // Back on the same port: the retry reaches it.
        await fixture.StartHousingFundAsync();
        var housing = fixture.HousingFund!;
        await Poll.UntilAsync(() => Task.FromResult(SsoPortalsFixture.PortalHeardLogout(housing, sid)), "the retried logout notice");
        await page.GotoAsync(housing.Url("/"));
        await Expect(page.Locator("#signed-out")).ToBeVisibleAsync();
        var notice = await fixture.NoticeAsync(sid, fixture.HousingIdentity.ClientId);
        Assert.NotNull(notice?.DeliveredAtUtc);
        Assert.True(notice.Attempts >= 2, $"{notice.Attempts} attempts");
        await page.Context.CloseAsync();
    }

    private async Task SignInAsync(IPage page, string protectedUrl, string userName)
    {
        await page.GotoAsync(protectedUrl);
        await Infrastructure.Browser.WaitForUrlAsync(page, url => url.StartsWith(fixture.Server.Authority + "/Account/Login", StringComparison.OrdinalIgnoreCase));
        await page.Locator("input[name='Input.SignInName']").FillAsync(userName);
        await page.Locator("input[name='Input.Password']").FillAsync(SsoPortalsFixture.Password);
        await page.Locator("#login-submit").ClickAsync();
    }

    private static async Task<string> ClaimAsync(IPage page, string claim) =>
        (await page.Locator($"#id-token-claims tr[data-claim='{claim}'] td:nth-child(2) code").TextContentAsync())!;

    private async Task<TokenIntrospectionResponse> IntrospectAsync(string token)
    {
        using var http = fixture.Server.CreateHttpClient();
        return await http.IntrospectTokenAsync(new TokenIntrospectionRequest
        {
            Address = fixture.Server.Authority + "/connect/introspect",
            ClientId = fixture.SocialIdentity.ClientId,
            ClientSecret = fixture.SocialIdentity.ClientSecret,
            Token = token,
        });
    }

    private async Task<TokenResponse> RefreshAsync(string refreshToken)
    {
        using var http = fixture.Server.CreateHttpClient();
        return await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = fixture.Server.Authority + "/connect/token",
            ClientId = fixture.SocialIdentity.ClientId,
            ClientSecret = fixture.SocialIdentity.ClientSecret,
            RefreshToken = refreshToken,
        });
    }
}
