using System.Net;
using IdentityHub.Server.Identity;
using IdentityHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Hosting;

/// <summary>The sign-in page over real HTTP: user name or mobile number, uniform failures, lockout, antiforgery.</summary>
public sealed class SignInPageTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    /// <summary>Accounts:MaxFailedAccessAttempts in appsettings.json.</summary>
    private const int MaxFailedAccessAttempts = 5;

    private const string InvalidMessageZh = "用户名、手机号或密码不正确。";

    private readonly IdentityHubServer _server = fixture.Server;

    [Fact]
    public async Task SignIn_UserName_SignsInAndShowsAccount()
    {
        var (userName, password, _) = await CreateUserAsync();
        var browser = new LoginForm(_server);

        var attempt = await browser.SignInAsync(userName, password);

        AssertSignedIn(attempt);
        Assert.Contains(userName, await browser.HomePageAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{0}{1}{2}")]
    [InlineData("+86 {0} {1} {2}")]
    [InlineData("+86{0}{1}{2}")]
    [InlineData("0086-{0}-{1}-{2}")]
    [InlineData(" {0} {1} {2} ")]
    public async Task SignIn_MobileNumberAsTyped_SignsInToThatAccount(string format)
    {
        var (userName, password, mobile) = await CreateUserAsync();
        var typed = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, mobile[..3], mobile[3..7], mobile[7..]);
        var browser = new LoginForm(_server);

        var attempt = await browser.SignInAsync(typed, password);

        AssertSignedIn(attempt);
        Assert.Contains(userName, await browser.HomePageAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_UnknownUserOrWrongPassword_ShowsTheSameMessage()
    {
        var (userName, _, mobile) = await CreateUserAsync();

        var wrongPassword = await new LoginForm(_server).SignInAsync(userName, UniqueNames.Password());
        var wrongPasswordByMobile = await new LoginForm(_server).SignInAsync(mobile, UniqueNames.Password());
        var unknownUser = await new LoginForm(_server).SignInAsync(UniqueNames.User(), UniqueNames.Password());
        var unknownMobile = await new LoginForm(_server).SignInAsync(UniqueNames.Mobile(), UniqueNames.Password());

        foreach (var attempt in new[] { wrongPassword, wrongPasswordByMobile, unknownUser, unknownMobile })
        {
            AssertRefused(attempt);
        }

        Assert.Equal(InvalidMessageZh, wrongPassword.ErrorText);
        Assert.Equal(wrongPassword.ErrorText, unknownUser.ErrorText);
        Assert.Equal(wrongPassword.ErrorText, wrongPasswordByMobile.ErrorText);
        Assert.Equal(wrongPassword.ErrorText, unknownMobile.ErrorText);
    }

    [Fact]
    public async Task SignIn_FewerFailuresThanTheLimit_RightPasswordStillSignsIn()
    {
        var (userName, password, _) = await CreateUserAsync();
        for (var i = 0; i < MaxFailedAccessAttempts - 1; i++)
        {
            AssertRefused(await new LoginForm(_server).SignInAsync(userName, UniqueNames.Password()));
        }

        var attempt = await new LoginForm(_server).SignInAsync(userName, password);

        AssertSignedIn(attempt);
    }

    [Fact]
    public async Task SignIn_AfterMaxFailedAttempts_RefusesRightPasswordAndDisclosesLockOnlyToOwner()
    {
        var (userName, password, _) = await CreateUserAsync();
        for (var i = 0; i < MaxFailedAccessAttempts; i++)
        {
            var failure = await new LoginForm(_server).SignInAsync(userName, UniqueNames.Password());
            AssertRefused(failure);
            Assert.Equal(InvalidMessageZh, failure.ErrorText);
        }

        var owner = await new LoginForm(_server).SignInAsync(userName, password);
        var stranger = await new LoginForm(_server).SignInAsync(userName, UniqueNames.Password());

        AssertRefused(owner);
        Assert.NotEqual(InvalidMessageZh, owner.ErrorText);
        Assert.Contains("锁定", owner.ErrorText, StringComparison.Ordinal);
        AssertRefused(stranger);
        Assert.Equal(InvalidMessageZh, stranger.ErrorText);
        await using var scope = _server.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        Assert.True(await users.IsLockedOutAsync((await users.FindByNameAsync(userName))!));
    }

    [Fact]
    public async Task SignIn_LockedAccountByMobileNumber_RefusesRightPassword()
    {
        var (_, password, mobile) = await CreateUserAsync();
        for (var i = 0; i < MaxFailedAccessAttempts; i++)
        {
            AssertRefused(await new LoginForm(_server).SignInAsync(mobile, UniqueNames.Password()));
        }

        var owner = await new LoginForm(_server).SignInAsync(mobile, password);

        AssertRefused(owner);
        Assert.Contains("锁定", owner.ErrorText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_FormPostWithoutAntiforgeryToken_Returns400()
    {
        var (userName, password, _) = await CreateUserAsync();
        var browser = new LoginForm(_server);
        var (status, _) = await browser.GetPageAsync();
        Assert.Equal(HttpStatusCode.OK, status);

        var attempt = await browser.PostAsync(new Dictionary<string, string>
        {
            ["Input.SignInName"] = userName,
            ["Input.Password"] = password,
        });

        Assert.Equal(HttpStatusCode.BadRequest, attempt.Status);
        Assert.False(attempt.SessionCookieIssued);
        Assert.Contains("出错了", attempt.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("Antiforgery", attempt.Body, StringComparison.OrdinalIgnoreCase);
        // The same browser with the form's token signs in: the token was the only thing missing.
        AssertSignedIn(await browser.SignInAsync(userName, password));
    }

    [Fact]
    public async Task SignIn_FormPostWithAnotherBrowsersToken_Returns400()
    {
        var (userName, password, _) = await CreateUserAsync();
        var attacker = new LoginForm(_server);
        var (_, attackerPage) = await attacker.GetPageAsync();
        var victim = new LoginForm(_server);
        await victim.GetPageAsync();

        var attempt = await victim.PostAsync(new Dictionary<string, string>
        {
            ["Input.SignInName"] = userName,
            ["Input.Password"] = password,
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(attackerPage),
        });

        Assert.Equal(HttpStatusCode.BadRequest, attempt.Status);
        Assert.False(attempt.SessionCookieIssued);
    }

    [Fact]
    public async Task SignIn_LocalReturnUrlWithQuery_ShowsPageAndReturnsThere()
    {
        var (userName, password, _) = await CreateUserAsync();
        var browser = new LoginForm(_server);
        const string returnUrl = "/?tab=services";
        var (status, html) = await browser.GetPageAsync("/Account/Login?ReturnUrl=" + Uri.EscapeDataString(returnUrl));
        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {html}");

        var attempt = await browser.PostAsync(new Dictionary<string, string>
        {
            ["Input.SignInName"] = userName,
            ["Input.Password"] = password,
            ["ReturnUrl"] = returnUrl,
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
        });

        Assert.Equal(HttpStatusCode.Redirect, attempt.Status);
        Assert.Equal(returnUrl, attempt.Location?.OriginalString);
        Assert.True(attempt.SessionCookieIssued);
    }

    [Fact]
    public async Task SignIn_ExternalReturnUrl_RedirectsHomeInstead()
    {
        var (userName, password, _) = await CreateUserAsync();
        var browser = new LoginForm(_server);
        var (_, html) = await browser.GetPageAsync("/Account/Login?ReturnUrl=" + Uri.EscapeDataString("https://phishing.example.com/"));

        var attempt = await browser.PostAsync(new Dictionary<string, string>
        {
            ["Input.SignInName"] = userName,
            ["Input.Password"] = password,
            ["ReturnUrl"] = "https://phishing.example.com/",
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
        });

        AssertSignedIn(attempt);
    }

    private async Task<(string UserName, string Password, string Mobile)> CreateUserAsync()
    {
        var userName = UniqueNames.User();
        var password = UniqueNames.Password();
        var mobile = UniqueNames.Mobile();
        await new AdminApiClient(_server).CreateUserAsync(userName, password, mobile, "测试市民");
        return (userName, password, mobile);
    }

    private static void AssertSignedIn(LoginForm.Attempt attempt)
    {
        Assert.True(attempt.Status == HttpStatusCode.Redirect, $"Sign-in refused: {(int)attempt.Status} {attempt.ErrorText}");
        Assert.Equal("/", attempt.Location?.OriginalString);
        Assert.True(attempt.SessionCookieIssued, "No session cookie after a successful sign-in.");
    }

    private static void AssertRefused(LoginForm.Attempt attempt)
    {
        Assert.Equal(HttpStatusCode.OK, attempt.Status);
        Assert.False(attempt.SessionCookieIssued, "A session cookie was issued for a refused sign-in.");
        Assert.False(string.IsNullOrWhiteSpace(attempt.ErrorText), "No error message on the refused sign-in page.");
    }
}
