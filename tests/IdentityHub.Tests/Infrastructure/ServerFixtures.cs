namespace IdentityHub.Tests.Infrastructure;

/// <summary>One real server per test class (xUnit class fixture), over a database of its own.</summary>
public abstract class ServerFixture(string provider) : IAsyncLifetime
{
    private IdentityHubServer? _server;

    public IdentityHubServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public async Task InitializeAsync() => _server = await IdentityHubServer.StartAsync(provider);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

public sealed class SqliteServerFixture() : ServerFixture("Sqlite");

public sealed class PostgresServerFixture() : ServerFixture("Postgres");
