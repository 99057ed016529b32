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
    }
}
