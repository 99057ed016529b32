using IdentityHub.Server.Api;
using IdentityHub.Server.Data;
using IdentityHub.Server.Hosting;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.RequireSecureHostingOutsideDevelopment()
        .AddIdentityHubData()
        .AddIdentityHubIdentity()
        .AddIdentityHubOidc()
        .AddIdentityHubRegistry()
        .AddIdentityHubWeb();

    var app = builder.Build();
    if (args.Contains("migrate"))
    {
        await app.Services.MigrateDatabaseAsync();
        Console.WriteLine("Database migrated.");
        return 0;
    }

    await app.InitializeAsync();
    await app.InitializeRegistryAsync();
    app.UseIdentityHubWeb();
    app.MapOidcEndpoints();
    app.MapAdminApi();
    app.MapOpenApi();
    app.MapOpenApiBrowser();
    app.MapCultureSwitch();
    app.MapRazorPages();
    await app.RunAsync();
    return 0;
}
catch (StartupConfigurationException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

/// <summary>Entry point type, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
