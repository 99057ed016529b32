using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// OpenID Connect / OAuth 2.0 protocol tests against the real server over real HTTP, with
/// Duende.IdentityModel as the client. The facts live in this abstract class (split by area into
/// partial files); each sealed subclass runs all of them on one database provider.
/// </summary>
public abstract partial class OidcProtocolTests
{
    protected OidcProtocolTests(OidcServerFixture fixture)
    {
        Assert.Equal(Provider, fixture.Provider);
        Kit = new OidcKit(fixture.Server);
    }

    /// <summary>"Sqlite" or "Postgres": the database the shared server, and any extra server a test starts, runs on.</summary>
    protected abstract string Provider { get; }

    protected OidcKit Kit { get; }

    protected IdentityHubServer Server => Kit.Server;

    protected BrowserlessSignIn NewBrowser() => new(Server);
}
