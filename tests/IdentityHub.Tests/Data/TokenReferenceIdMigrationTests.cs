using IdentityHub.Server.Data;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;

namespace IdentityHub.Tests.Data;

/// <summary>
/// The PostgreSQL migration TokenReferenceIdPartialIndex builds the partial unique index on OpenIddictTokens.ReferenceId
/// concurrently (non-transactional statements), so it must finish what an attempt stopped midway left behind: an INVALID
/// index of a failed concurrent build, or the new index built and the old one dropped but not yet renamed. Down and Up
/// again leave the index the model expects.
/// </summary>
public sealed class TokenReferenceIdMigrationTests
{
    private const string Name = "IX_OpenIddictTokens_ReferenceId";
    private const string Building = "IX_OpenIddictTokens_ReferenceId_building";

    [Theory]
    [InlineData("failed build")]
    [InlineData("built, old dropped")]
    [InlineData("fresh")]
    public async Task Migrate_AfterAnAttemptStoppedMidway_LeavesOnlyThePartialUniqueIndex(string leftBehind)
    {
        await using var database = await TestDatabase.CreateAsync("Postgres");
        await using var context = new PostgresIdentityHubDbContext(
            new DbContextOptionsBuilder<PostgresIdentityHubDbContext>().UseNpgsql(database.ConnectionString).Options);
        var migrations = context.Database.GetMigrations().ToList();
        var target = migrations.Single(m => m.EndsWith("_TokenReferenceIdPartialIndex", StringComparison.Ordinal));
        var before = migrations[migrations.IndexOf(target) - 1];
        var migrator = context.GetService<IMigrator>();
        await migrator.MigrateAsync(before);
        // Two tokens without a reference id (the partial index leaves them out), one with.
        await ExecuteAsync(database, """
            INSERT INTO "OpenIddictTokens" ("Id", "Type", "ReferenceId") VALUES ('t1', 'refresh_token', NULL), ('t2', 'refresh_token', NULL), ('t3', 'authorization_code', 'r3')
            """);

        switch (leftBehind)
        {
            case "failed build":
                // A concurrent build that failed (here: a duplicate) leaves its index in the catalog, INVALID.
                await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(database,
                    $"CREATE UNIQUE INDEX CONCURRENTLY \"{Building}\" ON \"OpenIddictTokens\" (\"Type\")"));
                Assert.Equal(["False"], await RowsAsync(database,
                    $"SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('\"{Building}\"')"));
                break;
            case "built, old dropped":
                await ExecuteAsync(database,
                    $"CREATE UNIQUE INDEX CONCURRENTLY \"{Building}\" ON \"OpenIddictTokens\" (\"ReferenceId\") WHERE \"ReferenceId\" IS NOT NULL");
                await ExecuteAsync(database, $"DROP INDEX CONCURRENTLY \"{Name}\"");
                break;
        }

        await migrator.MigrateAsync(target);

        Assert.Equal(migrations.Take(migrations.IndexOf(target) + 1), await context.Database.GetAppliedMigrationsAsync());
        var indexes = await RowsAsync(database,
            "SELECT c.relname || ' ' || i.indisvalid || ' ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid " +
            "WHERE i.indrelid = '\"OpenIddictTokens\"'::regclass AND pg_get_indexdef(i.indexrelid) LIKE '%ReferenceId%'");
        var index = Assert.Single(indexes);
        Assert.StartsWith(Name + " true CREATE UNIQUE INDEX", index, StringComparison.Ordinal);
        Assert.EndsWith("WHERE (\"ReferenceId\" IS NOT NULL)", index, StringComparison.Ordinal);

        // Down: the full unique index again, under the same name; then Up once more.
        await migrator.MigrateAsync(before);
        index = Assert.Single(await RowsAsync(database,
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'OpenIddictTokens' AND indexdef LIKE '%ReferenceId%'"));
        Assert.Contains($"CREATE UNIQUE INDEX \"{Name}\"", index, StringComparison.Ordinal);
        Assert.DoesNotContain("WHERE", index, StringComparison.Ordinal);
        await migrator.MigrateAsync(target);
        Assert.Equal([Name], await RowsAsync(database,
            "SELECT indexname FROM pg_indexes WHERE tablename = 'OpenIddictTokens' AND indexdef LIKE '%ReferenceId%' AND indexdef LIKE '%IS NOT NULL%'"));
    }

    private static async Task ExecuteAsync(TestDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> RowsAsync(TestDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return rows;
    }
}
