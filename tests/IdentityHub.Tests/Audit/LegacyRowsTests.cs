using System.Net;
using System.Net.Sockets;
using IdentityHub.Tests.Hosting;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// An existing database from before the chain (migrated up to "Registry", with registry events): the server's
/// start applies the AuditTrail migration and chains the old rows, which then verify like any others.
/// </summary>
public sealed class LegacyRowsTests
{
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task Start_DatabaseWithRowsFromBeforeTheChain_ChainsThemAndTheyVerify(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var db = new AuditDatabase(database);
        await using (var context = db.Context())
        {
            var registry = context.Database.GetMigrations().Single(m => m.EndsWith("_Registry", StringComparison.Ordinal));
            await context.GetService<IMigrator>().MigrateAsync(registry);
        }

        for (var i = 0; i < 3; i++)
        {
            await db.ExecuteAsync(
                "INSERT INTO \"AuditEvents\" (\"OccurredAtUtc\", \"EventType\", \"ActorKind\", \"ActorId\", \"TargetType\", \"TargetId\", \"After\") " +
                "VALUES (@t, 'registry.department.created', 'system', 'seed', 'department', @code, '{}')",
                ("@t", DateTime.SpecifyKind(new DateTime(2026, 1, 1, 8, 0, i, 123).AddTicks(4567), DateTimeKind.Utc)), ("@code", "legacy" + i));
        }

        var environment = AuditDatabase.ProcessEnvironment(database);
        var baseUrl = "http://127.0.0.1:" + FreePort();
        environment["ASPNETCORE_URLS"] = baseUrl;
        await using (var server = ServerProcess.Start(environment))
        {
            await server.WaitForOutputLineAsync(line => line.Contains("Now listening on: " + baseUrl, StringComparison.Ordinal));
        }

        var legacy = (await db.RowsAsync(Environment.MachineName)).Where(r => r.TargetId.StartsWith("legacy", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, legacy.Count);
        Assert.All(legacy, r => Assert.Equal(("registry", "success"), (r.Category, r.Outcome)));
        Assert.Equal(legacy.Select(r => r.Sequence), legacy.OrderBy(r => r.Id).Select(r => r.Sequence));
        var (exitCode, output) = await db.RunCommandAsync("verify-audit");
        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("predate the chain", output, StringComparison.Ordinal);
    }

    private static int FreePort() => TestPorts.Free();
}
