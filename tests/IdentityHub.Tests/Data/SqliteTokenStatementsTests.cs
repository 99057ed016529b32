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
        var (one, two) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var now = DateTime.UtcNow;
        Task Insert(string id)
        {
            var scope = server.Services.CreateAsyncScope();
            return scope.ServiceProvider.GetRequiredService<RefreshTokenEntries>()
                .InsertAsync(id, null, null, "subject", now, now.AddHours(1), CancellationToken.None)
                .ContinueWith(async t => { await scope.DisposeAsync(); await t; }).Unwrap();
        }

        // Queued back to back: most likely one group. The second insert of the same id breaks the primary key.
        var first = Insert(one);
        var duplicate = Insert(one);
        var other = Insert(two);
        await first;
        await other;
        var failure = await Assert.ThrowsAsync<SqliteException>(() => duplicate);
        Assert.Equal(19, failure.SqliteErrorCode); // SQLITE_CONSTRAINT

        await using var check = server.Services.CreateAsyncScope();
        var db = check.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        Assert.Equal(1, await db.Set<HubToken>().AsNoTracking().CountAsync(t => t.Id == one));
        Assert.Equal(1, await db.Set<HubToken>().AsNoTracking().CountAsync(t => t.Id == two));
    }
}
