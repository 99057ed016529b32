namespace IdentityHub.Tests.Factors;

/// <summary>A server that also sends security messages by SMS.</summary>
public sealed class SmsAlertsFixture : FactorsFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["Sms:SecurityAlerts"] = "true";
}

public sealed class SmsAlertTests(SmsAlertsFixture fixture) : IClassFixture<SmsAlertsFixture>
{
    [Fact]
    public async Task SecurityAlerts_On_NewFactorAndNewDeviceAlsoArriveBySms()
    {
        var (userName, phone) = await fixture.CreateUserAsync();
        using var first = new AccountClient(fixture.Server);
        await first.SignInAsync(userName, FactorsFixture.Password);
        await fixture.ConfirmPhoneAsync(first, phone);
        var texts = await first.SmsTextsAsync(phone);
        Assert.Equal("[IdentityHub] A sign-in method was added to your account: SMS codes.", texts[0]);

        using var second = new AccountClient(fixture.Server);
        await second.SignInAsync(userName, FactorsFixture.Password);
        texts = await first.SmsTextsAsync(phone);
        Assert.StartsWith("[IdentityHub] Your account signed in on a new device:", texts[0]);
        Assert.Contains("NewDeviceSignIn", (await first.GetAsync("/Account/Manage/Messages")).Body);
    }
}
