using Microsoft.Playwright;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>
/// Headless Chromium for browser tests: Debian's /usr/bin/chromium (or IDENTITYHUB_TEST_CHROMIUM),
/// driven by Playwright's driver, which ships with its own node in the package. Never a downloaded
/// browser: `playwright install` is not used. Each page gets a browser context of its own (own cookies).
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private static readonly string[] Arguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;
    private readonly IBrowser _chromium;

    private Browser(IPlaywright playwright, IBrowser chromium)
    {
        _playwright = playwright;
        _chromium = chromium;
    }

    public static string ExecutablePath => Environment.GetEnvironmentVariable("IDENTITYHUB_TEST_CHROMIUM") ?? "/usr/bin/chromium";

    /// <summary>Where tests save screenshots: screenshots/ in the test output directory.</summary>
    public static string ScreenshotDirectory => Path.Combine(AppContext.BaseDirectory, "screenshots");

    public static async Task<Browser> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Chromium not found at {ExecutablePath}. Install Debian's chromium package (./test.sh does) or set IDENTITYHUB_TEST_CHROMIUM.");
        }

        // Web-first assertions wait as long as pages do (their own default is 5 s, too short on a busy machine).
        Assertions.SetDefaultExpectTimeout(60_000);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var chromium = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = Arguments,
            });
            return new Browser(playwright, chromium);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A new page in a fresh context, whose browser asks for <paramref name="locale"/> (Accept-Language).</summary>
    public async Task<IPage> NewPageAsync(string locale = "zh-CN")
    {
        var context = await _chromium.NewContextAsync(new() { Locale = locale, ViewportSize = new() { Width = 1280, Height = 720 } });
        // Generous, for a shared 2-core machine: a wait that times out fails the test, it is never a measurement.
        context.SetDefaultTimeout(60_000);
        context.SetDefaultNavigationTimeout(60_000);
        return await context.NewPageAsync();
    }

    /// <summary>
    /// Waits until the page's URL satisfies <paramref name="url"/>, by the URL alone (the navigation's commit), and
    /// fails with where the browser is instead and what the page says. Playwright's own WaitForURLAsync, when the URL
    /// already matches as it is called (a redirect chain that finished first), waits for a load state instead, and
    /// that wait could miss the load event and hang until its timeout: the cause of the browser tests' rare 60 s
    /// timeouts after a sign-out or sign-in redirect chain. What follows a wait uses web-first assertions and
    /// locators, which wait for the page's content themselves.
    /// </summary>
    public static async Task WaitForUrlAsync(IPage page, Func<string, bool> url, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!url(page.Url))
        {
            if (DateTime.UtcNow > deadline)
            {
                string text;
                try
                {
                    text = await page.Locator("body").InnerTextAsync(new() { Timeout = 5_000 });
                }
                catch (PlaywrightException e)
                {
                    text = "(page text unavailable: " + e.Message + ")";
                }

                throw new TimeoutException($"The browser is at {page.Url}, not at the expected URL: {text}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary><see cref="WaitForUrlAsync(IPage, Func{string, bool}, TimeSpan?)"/> for one exact URL.</summary>
    public static Task WaitForUrlAsync(IPage page, string url) => WaitForUrlAsync(page, u => u == url);

    /// <summary>Saves a full-page screenshot under <see cref="ScreenshotDirectory"/> and returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var path = Path.Combine(ScreenshotDirectory, name + ".png");
        await page.ScreenshotAsync(new() { Path = path, FullPage = true });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await _chromium.CloseAsync();
        _playwright.Dispose();
    }
}
