namespace IdentityHub.Tests.Oidc;

/// <summary>The OIDC protocol tests on a server over PostgreSQL (the instance ./test.sh starts).</summary>
public sealed class OidcProtocolTests_Postgres(PostgresOidcServerFixture fixture)
    : OidcProtocolTests(fixture), IClassFixture<PostgresOidcServerFixture>
{
    protected override string Provider => "Postgres";
}
