using System.Collections.Concurrent;
using System.Text.Json;
using IdentityHub.Server.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Factors;

/// <summary>Keeps the audit records the server writes, in place of the log writer.</summary>
public sealed class RecordingAuditLog : IAuditLog
{
    public ConcurrentQueue<(AuditActor Actor, AuditRecord Record)> Records { get; } = new();

    public void Add(AuditActor actor, AuditRecord record) => Records.Enqueue((actor, record));

    public Task WriteAsync(AuditActor actor, params AuditRecord[] records)
    {
        foreach (var record in records)
        {
            Records.Enqueue((actor, record));
        }

        return Task.CompletedTask;
    }
}

public sealed class AuditFixture : FactorsFixture
{
    public RecordingAuditLog Audit { get; } = new();

    protected override void Configure(Dictionary<string, string?> settings) => settings["Accounts:MaxFailedAccessAttempts"] = "2";

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IAuditLog>(Audit);
}

public sealed class AuditTests(AuditFixture fixture) : IClassFixture<AuditFixture>
{
    [Fact]
    public async Task AccountSteps_EachWritesItsAuditEvent_WithoutPersonalData()
    {
        var (userName, phone) = await fixture.CreateUserAsync();
        using var browser = new AccountClient(fixture.Server);
        await browser.SignInAsync(userName, FactorsFixture.Password);
        await fixture.ConfirmPhoneAsync(browser, phone);
        await fixture.EnrolTotpAsync(browser);
        using var attacker = new AccountClient(fixture.Server);
        await attacker.SignInAsync(userName, "wrong 1");
        await attacker.SignInAsync(userName, "wrong 2");

        var mine = fixture.Audit.Records.Where(r => r.Record.TargetId != "unknown" && r.Actor.Id == r.Record.TargetId)
            .Where(r => r.Record is AccountSecurityEvent or SignInSucceeded or SignInFailed).ToList();
        var userId = mine.First().Record.TargetId;
        var types = mine.Where(r => r.Record.TargetId == userId).Select(r => r.Record.EventType).ToList();
        foreach (var expected in new[]
        {
            "signin.succeeded", "account.sms_code_sent", "account.phone_confirmed", "account.totp_enabled",
            "account.recovery_codes_generated", "signin.failed", "account.locked_out",
        })
        {
            Assert.Contains(expected, types);
        }

        // The event content (the acting account's user name is the actor, as for every account event).
        var written = JsonSerializer.Serialize(mine.Select(r => new { r.Record.EventType, r.Record.TargetId, r.Record.After, r.Record.Before }));
        Assert.DoesNotContain(userName, written);
        Assert.DoesNotContain(phone, written);
        Assert.DoesNotContain(FactorsFixture.Password, written);
    }
}
