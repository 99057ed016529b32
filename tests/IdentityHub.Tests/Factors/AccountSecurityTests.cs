using System.Net;
using System.Text.RegularExpressions;

namespace IdentityHub.Tests.Factors;

/// <summary>A server on PostgreSQL that locks an account after three failures.</summary>
public sealed class LockoutFixture : FactorsFixture
{
    protected override string Provider => "Postgres";

    protected override void Configure(Dictionary<string, string?> settings) => settings["Accounts:MaxFailedAccessAttempts"] = "3";
}

/// <summary>Lockout, password rules, password reset by SMS, and the security message centre.</summary>
public sealed class AccountSecurityTests(LockoutFixture fixture) : IClassFixture<LockoutFixture>
{
    [Fact]
    public async Task Lockout_AfterThreeFailures_OwnerSeesTheTimeAndTheAlertAfterAnSmsReset()
    {
        var (userName, phone) = await fixture.CreateUserAsync();
        using (var setup = new AccountClient(fixture.Server))
        {
            await setup.SignInAsync(userName, FactorsFixture.Password);
            await fixture.ConfirmPhoneAsync(setup, phone);
        }

        using var browser = new AccountClient(fixture.Server);
        for (var i = 0; i < 3; i++)
        {
            var wrong = await browser.SignInAsync(userName, "not the password " + i);
            Assert.Equal("The user name, mobile number or password is incorrect.", wrong.Text("login-error"));
        }

        // The right password now shows the lockout and when it ends; a wrong one does not reveal it.
        var locked = await browser.SignInAsync(userName, FactorsFixture.Password);
        Assert.Matches("locked.*[0-9]{1,2}:[0-9]{2}", locked.Text("login-error"));
        var stranger = await browser.SignInAsync(userName, "still not the password");
        Assert.Equal("The user name, mobile number or password is incorrect.", stranger.Text("login-error"));

        // The owner resets the password with an SMS code, which also ends the lockout.
        const string newPassword = "a new and rather long passphrase";
        var sent = await browser.PostAsync("/Account/ResetPassword", "Send", new() { ["PhoneNumber"] = phone });
        var reset = await browser.SubmitAsync(sent, "Reset", new()
        {
            ["PhoneNumber"] = phone, ["Code"] = await browser.LatestSmsCodeAsync(phone), ["NewPassword"] = newPassword,
        });
        Assert.True(reset.Has("password-reset-done"), reset.Body);
        var signedIn = await browser.SignInAsync(userName, newPassword);
        Assert.Equal("/", signedIn.Path);

        var kinds = await browser.MessageKindsAsync();
        Assert.Contains("AccountLocked", kinds);
        Assert.Contains("PasswordChanged", kinds);
        var messages = await browser.GetAsync("/Account/Manage/Messages");
        Assert.Contains("Your account was locked after repeated failed sign-ins.", messages.Body);
    }

    [Fact]
    public async Task ChangePassword_CommonPassword_RefusedThenPassphraseAcceptedAndAlerted()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        using var browser = new AccountClient(fixture.Server);
        await browser.SignInAsync(userName, FactorsFixture.Password);

        var common = await browser.PostAsync("/Account/Manage/Password", null, new()
        {
            ["CurrentPassword"] = FactorsFixture.Password, ["NewPassword"] = "Password123",
        });
        Assert.Equal("This password is too common and easy to guess. Please choose another.", common.Text("form-errors"));

        var changed = await browser.SubmitAsync(common, null, new()
        {
            ["CurrentPassword"] = FactorsFixture.Password, ["NewPassword"] = "seven quiet rivers under the old bridge",
        });
        Assert.Equal("Your password has been changed.", changed.Text("status"));
        // This browser stays signed in; the message centre has the change.
        Assert.Contains("PasswordChanged", await browser.MessageKindsAsync());
    }

    [Fact]
    public async Task AdminCreateUser_CommonPassword_400NamingThePassword()
    {
        using var response = await new Infrastructure.AdminApiClient(fixture.Server).PostAsync("/api/admin/users", new
        {
            userName = "u" + Guid.NewGuid().ToString("N")[..12], password = "iloveyou1314",
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("password", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SignIn_FromASecondBrowser_NewDeviceAlertInTheMessageCentre()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        using var first = new AccountClient(fixture.Server);
        await first.SignInAsync(userName, FactorsFixture.Password);
        Assert.DoesNotContain("NewDeviceSignIn", await first.MessageKindsAsync());

        using var second = new AccountClient(fixture.Server);
        await second.SignInAsync(userName, FactorsFixture.Password);
        Assert.Contains("NewDeviceSignIn", await first.MessageKindsAsync());

        // The same browser again is not new.
        await first.SignInAsync(userName, FactorsFixture.Password);
        Assert.Single(await first.MessageKindsAsync(), "NewDeviceSignIn");
    }

    [Fact]
    public async Task ManagePages_WithoutSignIn_SendToTheSignInPage()
    {
        using var browser = new AccountClient(fixture.Server);
        var page = await browser.GetAsync("/Account/Manage/Passkeys");
        Assert.Equal("/Account/Login", page.Path);
        Assert.Contains("ReturnUrl=%2FAccount%2FManage%2FPasskeys", page.Url.Query);
    }

    [Fact]
    public async Task ManageForm_WithoutAntiforgeryToken_Refused()
    {
        var (userName, _) = await fixture.CreateUserAsync();
        using var browser = new AccountClient(fixture.Server);
        await browser.SignInAsync(userName, FactorsFixture.Password);
        var page = await browser.RawPostAsync("/Account/Manage?handler=DisableTwoFactor");
        Assert.Equal(HttpStatusCode.BadRequest, page);
    }
}
