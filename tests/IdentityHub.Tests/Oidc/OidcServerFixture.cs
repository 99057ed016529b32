using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// One real IdentityHub server (Kestrel, loopback port, database of its own) shared by the tests of
/// one class. Tests never share clients or users: each registers its own with unique ids.
/// </summary>
public abstract class OidcServerFixture : IAsyncLifetime
{
    private IdentityHubServer? _server;

    public abstract string Provider { get; }

    public IdentityHubServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>
    /// The protocol tests run with the code grant's fast path on (Oidc:AuthorizationCodeFastPath, on by default: set here
    /// too, so that the environment alone decides), so that
    /// every code exchange of these classes goes through it and the CodeFastPath_* tests compare it with the normal path;
    /// Oidc__AuthorizationCodeFastPath=false in the environment runs them against the normal path alone.
    /// </summary>
    public async Task InitializeAsync() => _server = await IdentityHubServer.StartAsync(Provider, settings =>
    {
        if (Environment.GetEnvironmentVariable("Oidc__AuthorizationCodeFastPath") is null)
        {
            settings["Oidc:AuthorizationCodeFastPath"] = "true";
        }
    });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

public sealed class SqliteOidcServerFixture : OidcServerFixture
{
    public override string Provider => "Sqlite";
}

public sealed class PostgresOidcServerFixture : OidcServerFixture
{
    public override string Provider => "Postgres";
}
