using IdentityHub.Server.Api;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Hosting;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Operations;
using Microsoft.Extensions.Options;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Scale;
using IdentityHub.Server.Sessions;

// Before the host starts its threads (docs/deployment.md, "Memory").
NativeHeap.CapMallocArenas();

try
{
    var builder = WebApplication.CreateBuilder(args);
    if (AuditCommands.Find(args) is { } command)
    {
        // verify-audit, audit-retention, audit-ingest-benchmark: database and signing keys only, like "migrate".
        return await AuditCommands.RunAsync(builder, command);
    }

    if (args.Contains("migrate"))
    {
        // A migration job needs the database settings only: no https endpoint, and none of the token
        // signing keys, which then stay on the servers that sign.
        await using var migrator = builder.AddIdentityHubData().Build();
        await migrator.Services.MigrateDatabaseAsync();
        Console.WriteLine("Database migrated.");
        return 0;
    }

    builder.RequireSecureHostingOutsideDevelopment()
        .AddIdentityHubData()
        .AddIdentityHubScaleOut()
        .AddIdentityHubIdentity()
        .AddIdentityHubFactors()
        .AddIdentityHubRealName()
        .AddIdentityHubOidc()
        .AddIdentityHubRegistry()
        .AddIdentityHubAuditTrail()
        .AddIdentityHubSessions()
        .AddIdentityHubWeb()
        .AddIdentityHubOperations()
        .AddIdentityHubNativeHeapTrimming();

    var app = builder.Build();

    // Check every ValidateOnStart option before touching the database.
    app.Services.GetRequiredService<IStartupValidator>().Validate();
    await app.InitializeAsync();
    await app.InitializeSigningKeysAsync();
    await app.InitializeAuditAsync();
    await app.InitializeRegistryAsync();
    app.UseIdentityHubWeb();
    app.UseIdentityHubFactors();
    app.MapOidcEndpoints();
    app.MapOperationsEndpoints();
    app.MapAdminApi();
    app.MapAuditApi();
    app.MapOpenApi();
    app.MapOpenApiBrowser();
    app.MapCultureSwitch();
    app.MapRealNameDevelopmentEndpoints();
    app.MapRazorPages();
    await app.RunAsync();
    return 0;
}
catch (StartupConfigurationException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
catch (Exception e) when (e is OptionsValidationException
                          || (e is AggregateException aggregate && aggregate.InnerExceptions.All(i => i is OptionsValidationException)))
{
    // ValidateOnStart: a setting outside its allowed range (Accounts:PasswordHashIterations below 210,000, ...).
    var failures = (e is AggregateException all ? all.InnerExceptions : [e]).Cast<OptionsValidationException>().SelectMany(v => v.Failures);
    Console.Error.WriteLine("IdentityHub refuses to start with invalid settings:" + Environment.NewLine
        + string.Join(Environment.NewLine, failures.Select(f => "  - " + f)));
    return 1;
}

/// <summary>Entry point type, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
