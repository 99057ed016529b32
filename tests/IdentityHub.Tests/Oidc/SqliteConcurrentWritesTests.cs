using Duende.IdentityModel.Client;
using IdentityHub.Tests.Audit;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// The embedded database under concurrent writers: SQLite has one writer at a time, and the server queues its writes
/// (refresh-token rotations, token entries, group-committed audit events, account registrations with their audited
/// transactions) instead of failing them with "database is locked" or losing one. docs/deployment.md, "SQLite".
/// </summary>
public sealed class SqliteConcurrentWritesTests : IAsyncLifetime
{
    private IdentityHubServer _server = null!;

    public async Task InitializeAsync() => _server = await IdentityHubServer.StartAsync("Sqlite");

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ConcurrentRefreshesGrantsAndRegistrations_AllSucceed_AndEveryWriteIsStored()
    {
        const int chains = 6;
        const int rotations = 5;
        const int grants = 30;
        const int registrations = 10;
        var kit = new OidcKit(_server);
        var web = await kit.RegisterWebClientAsync();
        var (serviceId, serviceSecret) = await kit.RegisterServiceClientAsync();
        var people = await Task.WhenAll(Enumerable.Range(0, chains).Select(_ => kit.CreateUserAsync()));
        var flows = await Task.WhenAll(people.Select(person => kit.CodeFlowAsync(new BrowserlessSignIn(_server), web, person)));

        // Every chain rotates its refresh token again and again while the others do, next to client-credentials grants
        // and account registrations: all of them write at once.
        var rotating = flows.Select(async flow =>
        {
            var redeemed = new List<string>();
            var current = flow.Tokens.RefreshToken!;
            for (var i = 0; i < rotations; i++)
            {
                var next = await kit.RefreshAsync(web, current);
                Assert.False(next.IsError, $"refresh {i}: {next.Error} {next.ErrorDescription} {OidcKit.Shorten(next.Raw)}");
                redeemed.Add(current);
                current = next.RefreshToken!;
            }

            return (Redeemed: redeemed, Current: current);
        }).ToList();
        var granting = Enumerable.Range(0, grants).Select(async _ =>
        {
            var disco = await kit.DiscoveryAsync();
            using var http = _server.CreateHttpClient();
            var response = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
            {
                Address = disco.TokenEndpoint,
                ClientId = serviceId,
                ClientSecret = serviceSecret,
            });
            Assert.False(response.IsError, $"{response.Error} {response.ErrorDescription} {OidcKit.Shorten(response.Raw)}");
        }).ToList();
        var registering = Enumerable.Range(0, registrations).Select(_ => kit.CreateUserAsync()).ToList();

        await Task.WhenAll(granting);
        var registered = await Task.WhenAll(registering);
        var chainsDone = await Task.WhenAll(rotating);

        // No write lost: each chain's latest token was stored (it still works) and each redemption was stored (the
        // first token, replayed, is refused: RFC 9700 section 4.14.2).
        foreach (var (redeemed, current) in chainsDone)
        {
            var again = await kit.RefreshAsync(web, current);
            Assert.False(again.IsError, $"{again.Error} {again.ErrorDescription}");
            var replayed = await kit.RefreshAsync(web, redeemed[0]);
            Assert.Equal("invalid_grant", replayed.Error);
        }

        var database = new AuditDatabase(_server.Database);
        var ids = registered.Select(u => u.Id).ToHashSet(StringComparer.Ordinal);
        var stored = await database.QueryAsync("SELECT \"Id\" FROM \"AspNetUsers\"", r => r.GetString(0));
        Assert.True(ids.IsSubsetOf(stored), "An acknowledged registration is missing from the database.");

        // Every acknowledged grant has its audit event, on one unbroken chain.
        var refreshed = await database.QueryAsync(
            "SELECT COUNT(*) FROM \"AuditEvents\" WHERE \"EventType\" = 'token.refreshed' AND \"ClientId\" = @c", r => r.GetInt64(0), ("@c", web.ClientId));
        Assert.Equal(chains * (rotations + 1), refreshed.Single());
        var issued = await database.QueryAsync(
            "SELECT COUNT(*) FROM \"AuditEvents\" WHERE \"EventType\" = 'token.issued' AND \"ClientId\" = @c", r => r.GetInt64(0), ("@c", serviceId));
        Assert.Equal(grants, issued.Single());
        var sequences = await database.QueryAsync(
            "SELECT \"Sequence\" FROM \"AuditEvents\" WHERE \"Sequence\" IS NOT NULL ORDER BY \"Sequence\"", r => r.GetInt64(0));
        Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
    }

    [Fact]
    public async Task Database_RunsInWriteAheadLogMode()
    {
        // The server has opened the file (migrations, seed); WAL is a property of the file, seen by any connection.
        await using var connection = new SqliteConnection(_server.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task AnotherProcessHoldsTheWriteLock_RequestsWaitForIt_AndSucceed()
    {
        var kit = new OidcKit(_server);
        var (serviceId, serviceSecret) = await kit.RegisterServiceClientAsync();
        var disco = await kit.DiscoveryAsync();

        // A command-line job on the same file (another connection, as another process has it) holds the write lock.
        await using var job = new SqliteConnection(_server.Database.ConnectionString + ";Pooling=False");
        await job.OpenAsync();
        await using var transaction = (SqliteTransaction)await job.BeginTransactionAsync();
        await using (var write = job.CreateCommand())
        {
            write.Transaction = transaction;
            write.CommandText = "UPDATE \"Departments\" SET \"Name\" = \"Name\"";
            await write.ExecuteNonQueryAsync();
        }

        using var http = _server.CreateHttpClient();
        var pending = Enumerable.Range(0, 4).Select(_ => http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = disco.TokenEndpoint,
            ClientId = serviceId,
            ClientSecret = serviceSecret,
        })).ToList();
        await Task.Delay(TimeSpan.FromMilliseconds(700));
        await transaction.CommitAsync();

        foreach (var response in await Task.WhenAll(pending))
        {
            Assert.False(response.IsError, $"{response.Error} {response.ErrorDescription} {OidcKit.Shorten(response.Raw)}");
        }
    }
}
