using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc.RefreshTokens;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Oidc;

/// <summary>The OIDC protocol tests on a server over PostgreSQL (the instance ./test.sh starts).</summary>
public sealed class OidcProtocolTests_Postgres(PostgresOidcServerFixture fixture)
    : OidcProtocolTests(fixture), IClassFixture<PostgresOidcServerFixture>
{
    protected override string Provider => "Postgres";

    /// <summary>
    /// The redemption of a refresh token's entry finds the entry by its primary key only: its "no reference id" test is
    /// not an index condition, so that no statistics (a new database before autovacuum's first ANALYZE) and no mix of
    /// entries can make PostgreSQL walk the unique reference-id index's NULL entries, every refresh token's, and filter them
    /// by id (docs/benchmarks.md, "Refresh, tenth session": 531 blocks per rotation at 8,000 entries). Asked of the planner
    /// inside a transaction that is rolled back, with the primary key dropped and sequential scans discouraged: a plain
    /// "ReferenceId" IS NULL is then answered through the reference-id index (with or without statistics, empty table or
    /// not); the statement's own test must leave that index unused.
    /// </summary>
    [Fact]
    public async Task RefreshRedemption_NoReferenceIdTest_IsNeverAnIndexCondition()
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync();
        await db.Database.ExecuteSqlRawAsync("ALTER TABLE \"OpenIddictTokens\" DROP CONSTRAINT \"PK_OpenIddictTokens\"");
        await db.Database.ExecuteSqlRawAsync("SET LOCAL enable_seqscan = off");

        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = transaction.GetDbTransaction();
        command.CommandText = "EXPLAIN " + string.Format(System.Globalization.CultureInfo.InvariantCulture,
            RefreshTokenEntries.RedeemStatement(referenceToken: false), "'entry'", "now()", "'concurrency'", "'redeemed'", "'valid'", "'refresh_token'");
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        await transaction.RollbackAsync();
        Assert.Contains(plan, line => line.Contains("\"OpenIddictTokens\"", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.Contains("IX_OpenIddictTokens_ReferenceId", StringComparison.Ordinal));
    }
}
