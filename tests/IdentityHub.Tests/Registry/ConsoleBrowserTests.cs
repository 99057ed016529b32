using System.Net;
using Microsoft.Playwright;

namespace IdentityHub.Tests.Registry;

/// <summary>The admin console in a real Chromium: a department administrator signs in, registers a client and rotates its secret.</summary>
public sealed class ConsoleBrowserTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task DepartmentAdmin_SignsInRegistersClientRotatesSecret_BothSecretsWork()
    {
        var department = await fixture.CreateDepartmentAsync();
        var userName = await fixture.CreatePersonAsync(["department-admin"], department);
        var clientId = RegistryFixture.Unique("console");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("IDENTITYHUB_TEST_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { Locale = "zh-CN" });

        // Sign in through IdentityHub itself: the console sends the person to the sign-in page and back.
        await page.GotoAsync(fixture.Server.Authority + "/Admin");
        await page.FillAsync("#Input_SignInName", userName);
        await page.FillAsync("#Input_Password", RegistryFixture.Password);
        await page.ClickAsync("#login-submit");
        await Assertions.Expect(page.Locator("#console-role")).ToContainTextAsync("部门管理员");

        // Register a machine client in the department (the department is fixed for a department administrator).
        await page.ClickAsync("#register-client-link");
        await page.FillAsync("#Input_ClientId", clientId);
        await page.FillAsync("#Input_DisplayName", "控制台注册的应用");
        await page.CheckAsync("#kind-machine");
        await page.FillAsync("#Input_RedirectUris", "");
        await page.ClickAsync("#client-submit");
        await Assertions.Expect(page.Locator("#client-created")).ToBeVisibleAsync();
        var firstSecret = (await page.Locator("#client-secret").TextContentAsync())!.Trim();

        // Rotate: a new secret is shown once; the old one keeps working until revoked.
        await page.ClickAsync("#open-secrets");
        await page.ClickAsync("#rotate-secret");
        await Assertions.Expect(page.Locator("#new-secret")).ToBeVisibleAsync();
        var secondSecret = (await page.Locator("#new-secret").TextContentAsync())!.Trim();
        Assert.NotEqual(firstSecret, secondSecret);
        await Assertions.Expect(page.Locator("#secrets tbody tr")).ToHaveCountAsync(2);

        Assert.True(await TokenIssuedAsync(clientId, firstSecret));
        Assert.True(await TokenIssuedAsync(clientId, secondSecret));

        using var platform = await fixture.PlatformClientAsync();
        using var stored = await platform.GetAsync($"/api/admin/clients/{clientId}");
        var client = await RegistryFixture.Expect(stored, HttpStatusCode.OK);
        Assert.Equal(department, client.GetProperty("departmentCode").GetString());
        Assert.Equal("machine", client.GetProperty("kind").GetString());
    }

    private async Task<bool> TokenIssuedAsync(string clientId, string secret)
    {
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret,
        }));
        return response.IsSuccessStatusCode;
    }
}
