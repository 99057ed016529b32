using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// Database:DetectChangesOncePerSave (on by default): a save of the server's own context detects its changes once,
/// before its interceptors, with automatic detection off for the rest of the save and on again after it, however it
/// ends. What the interceptors guard is still guarded: an audit row changed by a property setter alone (no call to
/// the change tracker) is still refused by the append-only check, and a tracked account changed the same way is still
/// saved. Both positions of the switch behave the same way here.
/// </summary>
public sealed class DetectChangesOnceTests
{
    [Theory]
    [InlineData("Sqlite", true)]
    [InlineData("Sqlite", false)]
    [InlineData("Postgres", true)]
    [InlineData("Postgres", false)]
    public async Task Save_ChangedAuditRowRefused_ChangedAccountSaved_DetectionOnAgain(string provider, bool once)
    {
        var fixture = await AuditFixture.StartAsync(provider, settings => settings["Database:DetectChangesOncePerSave"] = once.ToString());
        try
        {
            var citizen = await fixture.NewCitizenAsync();
            await using (var scope = fixture.Server.Services.CreateAsyncScope())
            {
                Assert.Equal(once, scope.ServiceProvider.GetRequiredService<IOptions<DatabaseOptions>>().Value.DetectChangesOncePerSave);
                var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();

                // The account's creation left audit rows: one of them, tracked, changed through its property only.
                var row = await db.AuditEvents.OrderByDescending(e => e.Id).FirstAsync();
                row.Reason = "rewritten";
                var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync());
                Assert.Contains("append-only", refused.Message, StringComparison.Ordinal);
                Assert.True(db.ChangeTracker.AutoDetectChangesEnabled);
                db.ChangeTracker.Clear();

                var account = await db.Users.SingleAsync(u => u.Id == citizen.Id);
                account.DisplayName = "Changed By Setter";
                Assert.Equal(1, await db.SaveChangesAsync());
                Assert.True(db.ChangeTracker.AutoDetectChangesEnabled);
            }

            await using (var scope = fixture.Server.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
                Assert.Equal("Changed By Setter", await db.Users.Where(u => u.Id == citizen.Id).Select(u => u.DisplayName).SingleAsync());
                Assert.DoesNotContain(await db.AuditEvents.AsNoTracking().Select(e => e.Reason).ToListAsync(), r => r == "rewritten");
            }
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}
