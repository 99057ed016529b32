using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc.RefreshTokens;
using IdentityHub.Server.Registry;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace IdentityHub.Tests.Data;

/// <summary>
/// The token grants' one-statement writes on PostgreSQL (Data/MultiplexedStatements, Database:MultiplexTokenStatements):
/// with the switch on (the default) the code's redemption and each refresh token's rotation go through the multiplexing
/// data source, whose connections PostgreSQL lists under its application name; with it off, none is opened. Either way the
/// grants behave the same: the code redeemed once, each refresh token rotated once, a refresh token presented again refused.
/// </summary>
public sealed class MultiplexedStatementsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TokenStatements_ThroughTheMultiplexingSourceWhenOn_GrantsTheSame(bool on)
    {
        await using var server = await IdentityHubServer.StartAsync("Postgres",
            settings => settings["Database:MultiplexTokenStatements"] = on.ToString());
        var kit = new OidcKit(server);
        var client = await kit.RegisterWebClientAsync();
        var user = await kit.CreateUserAsync();
        var flow = await kit.CodeFlowAsync(new BrowserlessSignIn(server), client, user);
        Assert.False(string.IsNullOrEmpty(flow.Tokens.RefreshToken));

        var first = await kit.RefreshAsync(client, flow.Tokens.RefreshToken!);
        Assert.False(first.IsError, $"{first.Error} {first.ErrorDescription}");
        var second = await kit.RefreshAsync(client, first.RefreshToken!);
        Assert.False(second.IsError, $"{second.Error} {second.ErrorDescription}");
        Assert.NotEqual(first.RefreshToken, second.RefreshToken);

        // The first refresh token presented again: reuse, refused (RFC 9700 section 4.14.2), and the grant revoked with it.
        var reused = await kit.RefreshAsync(client, first.RefreshToken!);
        Assert.Equal("invalid_grant", reused.Error);
        var afterReuse = await kit.RefreshAsync(client, second.RefreshToken!);
        Assert.Equal("invalid_grant", afterReuse.Error);

        var multiplexed = await MultiplexedConnectionsAsync(server);
        Assert.True(on ? multiplexed > 0 && multiplexed <= MultiplexedStatements.MaxConnections : multiplexed == 0,
            $"{multiplexed} connection(s) of the multiplexing data source");
    }

    /// <summary>
    /// A statement in a transaction of the request's context stays on the context (rolled back with it); outside one it is
    /// written through the multiplexing source (PostgreSQL) or in a group (SQLite) and seen by the context once it returns.
    /// </summary>
    [Theory]
    [InlineData("Postgres")]
    [InlineData("Sqlite")]
    public async Task InATransactionOfTheContext_TheStatementStaysOnIt(string provider)
    {
        await using var server = await IdentityHubServer.StartAsync(provider);
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var entries = scope.ServiceProvider.GetRequiredService<RefreshTokenEntries>();
        Assert.Equal(provider == "Postgres", scope.ServiceProvider.GetRequiredService<MultiplexedStatements>().Enabled);
        Assert.Equal(provider == "Sqlite", scope.ServiceProvider.GetRequiredService<SqliteTokenStatements>().Enabled);
        var id = Guid.NewGuid().ToString();
        var now = DateTime.UtcNow;
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            await entries.InsertAsync(id, null, null, "subject", now, now.AddHours(1), CancellationToken.None);
            Assert.True(await db.Set<HubToken>().AsNoTracking().AnyAsync(t => t.Id == id));
            await transaction.RollbackAsync();
        }

        Assert.False(await db.Set<HubToken>().AsNoTracking().AnyAsync(t => t.Id == id));
        var groups = scope.ServiceProvider.GetRequiredService<SqliteTokenStatements>().GroupsCommitted;
        await entries.InsertAsync(id, null, null, "subject", now, now.AddHours(1), CancellationToken.None);
        Assert.Equal(provider == "Sqlite" ? groups + 1 : 0, scope.ServiceProvider.GetRequiredService<SqliteTokenStatements>().GroupsCommitted);
        Assert.True(await db.Set<HubToken>().AsNoTracking().AnyAsync(t => t.Id == id && t.Status == "valid"));
    }

    /// <summary>A connection string Npgsql cannot multiplex keeps the statements on the context instead of failing them.</summary>
    [Theory]
    [InlineData("", true)]
    [InlineData(";Pooling=false", false)]
    [InlineData(";Host=db1.example,db2.example", false)]
    public async Task ConnectionStrings_NpgsqlCannotMultiplex_StayOnTheContext(string change, bool enabled)
    {
        await using var statements = MultiplexedStatements.For("Host=127.0.0.1;Database=x;Username=u" + change, NullLogger.Instance);
        Assert.Equal(enabled, statements.Enabled);
    }

    [Fact]
    public void Placeholders_BecomePositionalParameters()
    {
        Assert.Equal("UPDATE t SET a = $1 WHERE b = $2 AND c = $11",
            MultiplexedStatements.Positional("UPDATE t SET a = {0} WHERE b = {1} AND c = {10}"));
    }

    /// <summary>The server's open connections to its database named as the multiplexing data source's.</summary>
    private static async Task<long> MultiplexedConnectionsAsync(IdentityHubServer server)
    {
        var database = new NpgsqlConnectionStringBuilder(server.Database.ConnectionString).Database;
        await using var connection = new NpgsqlConnection(server.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE '%' || $2 || '%'", connection)
        {
            Parameters = { new() { Value = database! }, new() { Value = MultiplexedStatements.ApplicationName } },
        };
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
