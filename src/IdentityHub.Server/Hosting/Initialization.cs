using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Hosting;

/// <summary>Section "Bootstrap": the administration client that exists from the first start.</summary>
public sealed class BootstrapOptions
{
    public const string Section = "Bootstrap";

    public AdminClientOptions AdminClient { get; set; } = new();

    public sealed class AdminClientOptions
    {
        public string? ClientId { get; set; }

        /// <summary>At least 32 characters: it is stored with a fast hash, which is safe only for high-entropy secrets.</summary>
        public string? ClientSecret { get; set; }
    }
}

/// <summary>Section "DemoData": a demo department, web client and citizens (Development only).</summary>
public sealed class DemoDataOptions
{
    public const string Section = "DemoData";

    public bool Enabled { get; set; }

    public string PortalClientId { get; set; } = "demo-portal";

    public string PortalClientSecret { get; set; } = "demo-portal-secret-for-development-only";

    /// <summary>Base URL of the demo department portal (src/IdentityHub.Samples.DemoPortal).</summary>
    public string PortalBaseUrl { get; set; } = "http://localhost:5002";

    public string CitizenPassword { get; set; } = "Demo-Passw0rd";

    /// <summary>The social security portal (the DemoPortal sample, launch profile social-security), department demo-hrss.</summary>
    public DemoAppOptions SocialSecurity { get; set; } = new()
    {
        ClientId = "social-security-portal",
        ClientSecret = "social-security-portal-secret-for-development-only",
        BaseUrl = "http://localhost:5003",
    };

    /// <summary>The housing provident fund portal (launch profile housing-fund), department demo-hpf.</summary>
    public DemoAppOptions HousingFund { get; set; } = new()
    {
        ClientId = "housing-fund-portal",
        ClientSecret = "housing-fund-portal-secret-for-development-only",
        BaseUrl = "http://localhost:5004",
    };

    public sealed class DemoAppOptions
    {
        public string ClientId { get; set; } = "";

        public string ClientSecret { get; set; } = "";

        public string BaseUrl { get; set; } = "";
    }
}

public static class Initialization
{
    /// <summary>Migrates the database, ensures the bootstrap administration client and, in Development, the demo data.</summary>
    public static async Task InitializeAsync(this WebApplication app)
    {
        var database = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        if (database.MigrateOnStart)
        {
            await app.Services.MigrateDatabaseAsync();
        }

        await using var scope = app.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var bootstrap = app.Configuration.GetSection(BootstrapOptions.Section).Get<BootstrapOptions>() ?? new();
        if (!string.IsNullOrEmpty(bootstrap.AdminClient.ClientId))
        {
            if (bootstrap.AdminClient.ClientSecret is not { Length: >= 32 })
            {
                throw new StartupConfigurationException(
                    "Bootstrap:AdminClient:ClientSecret must be set, with at least 32 random characters, when Bootstrap:AdminClient:ClientId is set.");
            }

            // Several nodes starting at once update the same row: the one that loses the race reads it again and retries.
            for (var attempt = 1; ; attempt++)
            {
                await using var attemptScope = app.Services.CreateAsyncScope();
                try
                {
                    await attemptScope.ServiceProvider.GetRequiredService<ClientRegistry>().EnsureAsync(
                        new ClientRegistrationRequest(bootstrap.AdminClient.ClientId, null, "IdentityHub administration", ClientTypes.Confidential,
                            [GrantTypes.ClientCredentials], [], [], [HubScopes.Admin]),
                        bootstrap.AdminClient.ClientSecret, departmentId: null, CancellationToken.None);
                    break;
                }
                catch (Exception e) when (attempt < 3 && e is OpenIddict.Abstractions.OpenIddictExceptions.ConcurrencyException
                                              or Microsoft.EntityFrameworkCore.DbUpdateException)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt));
                }
            }
        }

        var demo = app.Configuration.GetSection(DemoDataOptions.Section).Get<DemoDataOptions>() ?? new();
        if (demo.Enabled && app.Environment.IsDevelopment())
        {
            await SeedDemoDataAsync(services, demo);
        }
    }

    private static async Task SeedDepartmentAppAsync(IServiceProvider services, DemoDataOptions.DemoAppOptions app, string departmentCode,
        string departmentName, string departmentNameEn, string displayName)
    {
        var department = await services.GetRequiredService<DepartmentRegistry>()
            .EnsureAsync(departmentCode, departmentName, departmentNameEn, CancellationToken.None);
        var baseUrl = app.BaseUrl.TrimEnd('/');
        await services.GetRequiredService<ClientRegistry>().EnsureAsync(
            new ClientRegistrationRequest(app.ClientId, departmentCode, displayName, ClientTypes.Confidential,
                [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken],
                [$"{baseUrl}/signin-oidc"], [$"{baseUrl}/signout-callback-oidc"],
                [Scopes.OpenId, Scopes.Profile, Scopes.Phone, Scopes.OfflineAccess],
                BackChannelLogoutUri: $"{baseUrl}/backchannel-logout", SubjectType: "pairwise"),
            app.ClientSecret, department.Id, CancellationToken.None);
    }

    private static async Task SeedDemoDataAsync(IServiceProvider services, DemoDataOptions demo)
    {
        var department = await services.GetRequiredService<DepartmentRegistry>()
            .EnsureAsync("demo", "演示部门", "Demo Department", CancellationToken.None);

        var portal = demo.PortalBaseUrl.TrimEnd('/');
        await services.GetRequiredService<ClientRegistry>().EnsureAsync(
            new ClientRegistrationRequest(demo.PortalClientId, "demo", "演示部门网上办事大厅 (Demo portal)", ClientTypes.Confidential,
                [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken],
                [$"{portal}/signin-oidc"], [$"{portal}/signout-callback-oidc"],
                [Scopes.OpenId, Scopes.Profile, Scopes.Phone, Scopes.OfflineAccess]),
            demo.PortalClientSecret, department.Id, CancellationToken.None);

        // Two department apps in two departments (pairwise subjects differ between them), each told of a logout
        // over the back channel: the single sign-on and single logout demonstration.
        await SeedDepartmentAppAsync(services, demo.SocialSecurity, "demo-hrss", "演示人社局", "Demo Human Resources and Social Security Bureau",
            "社会保障网上服务大厅 (Social security portal)");
        await SeedDepartmentAppAsync(services, demo.HousingFund, "demo-hpf", "演示住房公积金中心", "Demo Housing Provident Fund Centre",
            "住房公积金网上服务大厅 (Housing fund portal)");

        var users = services.GetRequiredService<UserManager<ApplicationUser>>();
        (string UserName, string Name, string Mobile)[] citizens =
        [
            ("zhangsan", "张三", "13800138000"),
            ("lisi", "李四", "13900139000"),
        ];
        foreach (var (userName, name, mobile) in citizens)
        {
            if (await users.FindByNameAsync(userName) is not null)
            {
                continue;
            }

            var result = await users.CreateAsync(
                new ApplicationUser { UserName = userName, DisplayName = name, PhoneNumber = mobile, PhoneNumberConfirmed = true },
                demo.CitizenPassword);
            if (!result.Succeeded)
            {
                throw new InvalidOperationException("Demo citizen not created: " + string.Join("; ", result.Errors.Select(e => e.Description)));
            }
        }
    }
}
