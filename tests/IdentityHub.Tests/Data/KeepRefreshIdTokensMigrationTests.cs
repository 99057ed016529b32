using System.Data.Common;
using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace IdentityHub.Tests.Data;

/// <summary>
/// The migration KeepRefreshIdTokens registers every authorization-code client that exists when it runs with
/// idTokenOnRefresh (hub:id_token_on_refresh = "true"), so that an upgrade does not take the refresh's ID token from a
/// client that had it; their other settings are kept, a client-credentials client is left alone, and Down removes the
/// setting again. On both providers.
/// </summary>
public sealed class KeepRefreshIdTokensMigrationTests
{
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task Migrate_ExistingCodeClientsKeepTheirRefreshIdTokens_OthersUntouched_DownRemovesIt(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        await using IdentityHubDbContext context = provider == "Sqlite"
            ? new SqliteIdentityHubDbContext(new DbContextOptionsBuilder<SqliteIdentityHubDbContext>().UseSqlite(database.ConnectionString).Options)
            : new PostgresIdentityHubDbContext(new DbContextOptionsBuilder<PostgresIdentityHubDbContext>().UseNpgsql(database.ConnectionString).Options);
        var migrations = context.Database.GetMigrations().ToList();
        var target = migrations.Single(m => m.EndsWith("_KeepRefreshIdTokens", StringComparison.Ordinal));
        var before = migrations[migrations.IndexOf(target) - 1];
        var migrator = context.GetService<IMigrator>();
        await migrator.MigrateAsync(before);

        await ExecuteAsync(context, """
            INSERT INTO "OpenIddictApplications" ("Id", "ClientId", "Permissions", "Settings") VALUES
              ('a1', 'web-plain', '["ept:token","gt:authorization_code","gt:refresh_token"]', NULL),
              ('a2', 'web-lifetimes', '["ept:token","gt:authorization_code"]', '{"tkn_lft:act":"00:10:00","hub:id_token_signed_response_alg":"ES256"}'),
              ('a3', 'machine', '["ept:token","gt:client_credentials"]', NULL),
              ('a4', 'web-empty', '["gt:authorization_code"]', '')
            """);

        await migrator.MigrateAsync(target);
        var after = await SettingsAsync(context);
        Assert.Equal("true", after["web-plain"]!["hub:id_token_on_refresh"]);
        Assert.Single(after["web-plain"]!);
        Assert.Equal(new Dictionary<string, string>
        {
            ["tkn_lft:act"] = "00:10:00", ["hub:id_token_signed_response_alg"] = "ES256", ["hub:id_token_on_refresh"] = "true",
        }, after["web-lifetimes"]);
        Assert.Null(after["machine"]);
        Assert.Equal("true", after["web-empty"]!["hub:id_token_on_refresh"]);
        Assert.True(IdentityHub.Server.Oidc.RefreshIdTokens.Of(await RawSettingsAsync(context, "web-lifetimes")));

        await migrator.MigrateAsync(before);
        var down = await SettingsAsync(context);
        Assert.Empty(down["web-plain"]!);
        Assert.Equal(new Dictionary<string, string> { ["tkn_lft:act"] = "00:10:00", ["hub:id_token_signed_response_alg"] = "ES256" }, down["web-lifetimes"]);
        Assert.Null(down["machine"]);
        Assert.False(IdentityHub.Server.Oidc.RefreshIdTokens.Of(await RawSettingsAsync(context, "web-plain")));
    }

    private static async Task ExecuteAsync(IdentityHubDbContext context, string sql)
    {
        await context.Database.OpenConnectionAsync();
        try
        {
            await using var command = context.Database.GetDbConnection().CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            await context.Database.CloseConnectionAsync();
        }
    }

    private static async Task<string?> RawSettingsAsync(IdentityHubDbContext context, string clientId)
    {
        await context.Database.OpenConnectionAsync();
        try
        {
            await using var command = context.Database.GetDbConnection().CreateCommand();
            command.CommandText = $"""SELECT "Settings" FROM "OpenIddictApplications" WHERE "ClientId" = '{clientId}'""";
            return await command.ExecuteScalarAsync() as string;
        }
        finally
        {
            await context.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Each client's settings parsed (null when the column is null).</summary>
    private static async Task<Dictionary<string, Dictionary<string, string>?>> SettingsAsync(IdentityHubDbContext context)
    {
        var result = new Dictionary<string, Dictionary<string, string>?>();
        foreach (var clientId in new[] { "web-plain", "web-lifetimes", "machine", "web-empty" })
        {
            var raw = await RawSettingsAsync(context, clientId);
            result[clientId] = raw is null ? null : raw.Length == 0 ? [] : JsonSerializer.Deserialize<Dictionary<string, string>>(raw);
        }

        return result;
    }
}
