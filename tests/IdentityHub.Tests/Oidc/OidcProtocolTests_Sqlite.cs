namespace IdentityHub.Tests.Oidc;

/// <summary>The OIDC protocol tests on a server over SQLite.</summary>
public sealed class OidcProtocolTests_Sqlite(SqliteOidcServerFixture fixture)
    : OidcProtocolTests(fixture), IClassFixture<SqliteOidcServerFixture>
{
    protected override string Provider => "Sqlite";
}
