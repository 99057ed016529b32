using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc.RefreshTokens;
using IdentityHub.Server.Registry;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Data;

/// <summary>
/// The token grants' one-command writes on SQLite committed in groups (Data/SqliteTokenStatements,
/// Database:SqliteGroupTokenStatements): with the switch on (the default) the code's redemption and each rotation are
/// committed by the groups, with it off by the request's own transaction; either way the grants behave the same. In a
/// group a failing command fails alone: the others are committed.
/// </summary>
public sealed class SqliteTokenStatementsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TokenStatements_GroupedWhenOn_GrantsTheSame(bool on)
    {
        await using var server = await IdentityHubServer.StartAsync("Sqlite",
            settings => settings["Database:SqliteGroupTokenStatements"] = on.ToString());
        var statements = server.Services.GetRequiredService<SqliteTokenStatements>();
        Assert.Equal(on, statements.Enabled);
        var kit = new OidcKit(server);
        var client = await kit.RegisterWebClientAsync();
        var user = await kit.CreateUserAsync();
        var flow = await kit.CodeFlowAsync(new BrowserlessSignIn(server), client, user);
        var first = await kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(first.IsError, $"{first.Error} {first.ErrorDescription}");
        var second = await kit.RefreshAsync(client, first.RefreshToken!);
        Assert.False(second.IsError, $"{second.Error} {second.ErrorDescription}");

        // Reuse: refused, and the grant revoked with it (RFC 9700 section 4.14.2).
        Assert.Equal("invalid_grant", (await kit.RefreshAsync(client, first.RefreshToken!)).Error);
        Assert.Equal("invalid_grant", (await kit.RefreshAsync(client, second.RefreshToken!)).Error);

        // The code's redemption and both rotations committed by groups when on; none when off.
        Assert.True(on ? statements.GroupsCommitted >= 3 : statements.GroupsCommitted == 0, $"{statements.GroupsCommitted} group(s)");
    }

    [Fact]
    public async Task AFailingCommand_FailsAlone_TheOthersOfItsGroupCommitted()
    {
        await using var server = await IdentityHubServer.StartAsync("Sqlite");
        var statements = server.Services.GetRequiredService<SqliteTokenStatements>();
        var gate = server.Services.GetRequiredService<SqliteDatabase>().WriteGate;
        var (one, two) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var now = DateTime.UtcNow;
        var scopes = new List<AsyncServiceScope>();
        Task Insert(string id)
        {
            var scope = server.Services.CreateAsyncScope();
            scopes.Add(scope);
            return scope.ServiceProvider.GetRequiredService<RefreshTokenEntries>()
                .InsertAsync(id, null, null, "subject", now, now.AddHours(1), CancellationToken.None);
        }

        // The gate held while the three are queued: they are committed in one group. The second insert of the same id
        // breaks the primary key.
        var before = statements.GroupsCommitted;
        await gate.WaitAsync();
        Task first, duplicate, other;
        try
        {
            first = Insert(one);
            duplicate = Insert(one);
            other = Insert(two);
        }
        finally
        {
            gate.Release();
        }

        await first;
        await other;
        var failure = await Assert.ThrowsAsync<SqliteException>(() => duplicate);
        Assert.Equal(19, failure.SqliteErrorCode); // SQLITE_CONSTRAINT
        Assert.Equal(before + 1, statements.GroupsCommitted);
        foreach (var scope in scopes)
        {
            await scope.DisposeAsync();
        }

        await using var check = server.Services.CreateAsyncScope();
        var db = check.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        Assert.Equal(1, await db.Set<HubToken>().AsNoTracking().CountAsync(t => t.Id == one));
        Assert.Equal(1, await db.Set<HubToken>().AsNoTracking().CountAsync(t => t.Id == two));
    }

    /// <summary>
    /// A rotation whose INSERT fails after its UPDATE ran (the new entry's id taken): both undone, the presented entry still
    /// valid, as its own transaction gave it.
    /// </summary>
    [Fact]
    public async Task ARotationFailingAtItsInsert_LeavesThePresentedEntryValid()
    {
        await using var server = await IdentityHubServer.StartAsync("Sqlite");
        await using var scope = server.Services.CreateAsyncScope();
        var entries = scope.ServiceProvider.GetRequiredService<RefreshTokenEntries>();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var (presented, taken) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var now = DateTime.UtcNow;
        await entries.InsertAsync(presented, null, null, "subject", now, now.AddHours(1), CancellationToken.None);
        await entries.InsertAsync(taken, null, null, "subject", now, now.AddHours(1), CancellationToken.None);

        var failure = await Assert.ThrowsAsync<SqliteException>(() => entries.TryRedeemAndInsertAsync(presented, now, taken, null, null,
            "subject", now, now.AddHours(1), CancellationToken.None));
        Assert.Equal(19, failure.SqliteErrorCode);
        Assert.Equal("valid", await db.Set<HubToken>().AsNoTracking().Where(t => t.Id == presented).Select(t => t.Status).SingleAsync());

        // And the same rotation to a free id: redeemed once.
        Assert.True(await entries.TryRedeemAndInsertAsync(presented, now, Guid.NewGuid().ToString(), null, null, "subject", now,
            now.AddHours(1), CancellationToken.None));
        Assert.Equal("redeemed", await db.Set<HubToken>().AsNoTracking().Where(t => t.Id == presented).Select(t => t.Status).SingleAsync());
    }
}
