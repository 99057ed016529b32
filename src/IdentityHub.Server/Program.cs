using IdentityHub.Server.Api;
using IdentityHub.Server.Data;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Hosting;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.RequireSecureHostingOutsideDevelopment()
        .AddIdentityHubData()
        .AddIdentityHubIdentity()
        .AddIdentityHubFactors()
        .AddIdentityHubOidc()
        .AddIdentityHubWeb();

    var app = builder.Build();
    if (args.Contains("migrate"))
    {
        await app.Services.MigrateDatabaseAsync();
        Console.WriteLine("Database migrated.");
        return 0;
    }

    await app.InitializeAsync();
    app.UseIdentityHubWeb();
    app.UseIdentityHubFactors();
    app.MapOidcEndpoints();
    app.MapAdminApi();
    app.MapOpenApi();
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
