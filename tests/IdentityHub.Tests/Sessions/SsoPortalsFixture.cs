using IdentityHub.Samples.DemoPortal;
using IdentityHub.Server.Data;
using IdentityHub.Server.Sessions;
using IdentityHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;

namespace IdentityHub.Tests.Sessions;

/// <summary>
/// IdentityHub with its demo data, and the two sample department apps of two demo departments, each a DemoPortal
/// in the test process on its own loopback port: the social security portal and the housing provident fund portal.
/// The housing fund portal can be stopped and started again on the same port, with the same keys.
/// </summary>
public sealed class SsoPortalsFixture : IAsyncLifetime
{
    public const string Password = "Demo-Passw0rd";

    private readonly string _keys = Directory.CreateTempSubdirectory("identityhub-portal-keys-").FullName;
    private Uri _housingAddress = null!;

    public IdentityHubServer Server { get; private set; } = null!;

    public DemoPortalHost SocialSecurity { get; private set; } = null!;

    public DemoPortalHost? HousingFund { get; private set; }

    public Infrastructure.Browser Browser { get; private set; } = null!;

    public PortalIdentity SocialIdentity => new("social-security-portal", "social-security-portal-secret-for-development-only",
        "社会保障网上服务大厅", Path.Combine(_keys, "social"));

    public PortalIdentity HousingIdentity => new("housing-fund-portal", "housing-fund-portal-secret-for-development-only",
        "住房公积金网上服务大厅", Path.Combine(_keys, "housing"));

    public async Task InitializeAsync()
    {
        var socialAddress = DemoPortalHost.ReserveLoopbackAddress();
        _housingAddress = DemoPortalHost.ReserveLoopbackAddress();
        Server = await IdentityHubServer.StartAsync("Sqlite", settings =>
        {
            settings["DemoData:Enabled"] = "true";
            settings["DemoData:CitizenPassword"] = Password;
            settings["DemoData:SocialSecurity:BaseUrl"] = socialAddress.ToString().TrimEnd('/');
            settings["DemoData:HousingFund:BaseUrl"] = _housingAddress.ToString().TrimEnd('/');
            SessionsFixture.FastBackChannel(settings);
        });
        SocialSecurity = await DemoPortalHost.StartAsync(socialAddress, Server.Authority, SocialIdentity);
        await StartHousingFundAsync();
        Browser = await Infrastructure.Browser.LaunchAsync();
    }

    public async Task StartHousingFundAsync() =>
        HousingFund = await DemoPortalHost.StartAsync(_housingAddress, Server.Authority, HousingIdentity);

    public async Task StopHousingFundAsync()
    {
        await HousingFund!.DisposeAsync();
        HousingFund = null;
    }

    /// <summary>Whether the portal's own session store has heard that IdentityHub ended the session <paramref name="sid"/>.</summary>
    public static bool PortalHeardLogout(DemoPortalHost portal, string sid) =>
        portal.Services.GetRequiredService<PortalSessions>().HasEnded(sid);

    /// <summary>The portal's session ticket, read from the browser's cookie as the portal itself reads it (SaveTokens keeps the tokens there).</summary>
    public static async Task<AuthenticationTicket> PortalTicketAsync(DemoPortalHost portal, IBrowserContext browser)
    {
        var options = portal.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>()
            .Get(CookieAuthenticationDefaults.AuthenticationScheme);
        var cookies = await browser.CookiesAsync([portal.Url("/")]);
        var request = new DefaultHttpContext();
        request.Request.Headers.Cookie = string.Join("; ", cookies.Select(c => $"{c.Name}={c.Value}"));
        var value = options.CookieManager.GetRequestCookie(request, options.Cookie.Name!)
            ?? throw new InvalidOperationException("The browser holds no session cookie of " + portal.BaseAddress);
        return options.TicketDataFormat.Unprotect(value) ?? throw new InvalidOperationException("The portal cannot read its cookie.");
    }

    /// <summary>IdentityHub's back-channel notice for a session and a client, as queued in its database.</summary>
    public Task<LogoutNotice?> NoticeAsync(string sid, string clientId) => SessionsKit.NoticeAsync(Server, sid, clientId);

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        if (HousingFund is not null)
        {
            await HousingFund.DisposeAsync();
        }

        if (SocialSecurity is not null)
        {
            await SocialSecurity.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        Directory.Delete(_keys, recursive: true);
    }
}
