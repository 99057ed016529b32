using System.Text.Json;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Registry;

public static class RegistrySeed
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Creates the registry roles and the city's departments from <see cref="RegistryOptions.DepartmentsFile"/>.
    /// Only missing departments are created: running it again, or after an administrator's edit, changes nothing.
    /// </summary>
    public static async Task InitializeRegistryAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        await services.GetRequiredService<AdminUsers>().EnsureRolesAsync();

        var file = services.GetRequiredService<IOptions<RegistryOptions>>().Value.DepartmentsFile;
        if (string.IsNullOrWhiteSpace(file))
        {
            return;
        }

        var path = new[] { Path.Combine(app.Environment.ContentRootPath, file), Path.Combine(AppContext.BaseDirectory, file) }
            .Select(Path.GetFullPath)
            .FirstOrDefault(File.Exists)
            ?? throw new Hosting.StartupConfigurationException(
                $"Registry:DepartmentsFile \"{file}\" was found neither under {app.Environment.ContentRootPath} nor under {AppContext.BaseDirectory}.");

        await using var stream = File.OpenRead(path);
        var document = await JsonSerializer.DeserializeAsync<RegistryDocument>(stream, Json)
            ?? throw new Hosting.StartupConfigurationException($"{path} is empty.");
        var departments = services.GetRequiredService<DepartmentRegistry>();
        foreach (var department in document.Departments ?? [])
        {
            if (string.IsNullOrWhiteSpace(department.Code) || string.IsNullOrWhiteSpace(department.Name))
            {
                throw new Hosting.StartupConfigurationException($"{path}: every department needs a code and a name.");
            }

            await departments.EnsureAsync(department.Code, department.Name, department.NameEn, CancellationToken.None, department.Contact);
        }

        var demo = app.Configuration.GetSection(Hosting.DemoDataOptions.Section).Get<Hosting.DemoDataOptions>() ?? new();
        if (demo.Enabled && app.Environment.IsDevelopment())
        {
            await SeedDemoAdministratorsAsync(services, demo.CitizenPassword);
        }
    }

    /// <summary>Development only: a platform administrator, the demo department's administrator, a service-hall clerk and an auditor.</summary>
    private static async Task SeedDemoAdministratorsAsync(IServiceProvider services, string password)
    {
        var users = services.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<Identity.ApplicationUser>>();
        (string UserName, string Name, string Role, string? Department)[] administrators =
        [
            ("platform-admin", "平台管理员", AdminRoles.PlatformAdministrator, null),
            ("demo-admin", "演示部门管理员", AdminRoles.DepartmentAdministrator, "demo"),
            ("hall-clerk", "政务服务大厅工作人员", AdminRoles.ServiceHallClerk, null),
            ("auditor", "审计员", AdminRoles.Auditor, null),
        ];
        foreach (var (userName, name, role, department) in administrators)
        {
            if (await users.FindByNameAsync(userName) is not null)
            {
                continue;
            }

            var user = new Identity.ApplicationUser { UserName = userName, DisplayName = name };
            var created = await users.CreateAsync(user, password);
            if (created.Succeeded)
            {
                await users.AddToRoleAsync(user, role);
                if (department is not null)
                {
                    await users.AddClaimAsync(user, new System.Security.Claims.Claim(AdminRoles.DepartmentClaim, department));
                }
            }
        }
    }
}
