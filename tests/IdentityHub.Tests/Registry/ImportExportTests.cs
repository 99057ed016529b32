using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace IdentityHub.Tests.Registry;

/// <summary>Configuration as code: the city's departments are seeded; the registry exports and imports idempotently.</summary>
public sealed class ImportExportTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task Seed_CityDepartments_Present()
    {
        using var http = await fixture.PlatformClientAsync();
        foreach (var code in new[] { "utilities", "civil-affairs", "market-regulation", "housing-fund", "hrss", "public-security" })
        {
            using var response = await http.GetAsync($"/api/admin/departments/{code}");
            await RegistryFixture.Expect(response, HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task ExportThenImport_ChangesNothing_ImportOfNewEntriesCreatesThemOnce()
    {
        var department = await fixture.CreateDepartmentAsync();
        await fixture.RegisterAsync(RegistryFixture.WebClient(RegistryFixture.Unique("exp"), department, new { name = "masked" }));
        using var http = await fixture.PlatformClientAsync();
        using var export = await http.GetAsync("/api/admin/registry/export");
        var document = await RegistryFixture.Expect(export, HttpStatusCode.OK);
        var auditBefore = await AuditTotalAsync(http);

        using (var again = await http.PostAsync("/api/admin/registry/import", Json(document)))
        {
            var summary = await RegistryFixture.Expect(again, HttpStatusCode.OK);
            Assert.Equal(0, summary.GetProperty("created").GetInt32());
            Assert.Equal(0, summary.GetProperty("updated").GetInt32());
        }

        Assert.Equal(auditBefore, await AuditTotalAsync(http));

        var newDepartment = RegistryFixture.Unique("imp");
        var newClient = RegistryFixture.Unique("impc");
        var addition = new
        {
            departments = new[] { new { code = newDepartment, name = "导入部门", nameEn = "Imported" } },
            clients = new[] { RegistryFixture.WebClient(newClient, newDepartment) },
        };
        for (var run = 0; run < 2; run++)
        {
            using var imported = await http.PostAsJsonAsync("/api/admin/registry/import", addition);
            var summary = await RegistryFixture.Expect(imported, HttpStatusCode.OK);
            Assert.Equal(run == 0 ? 2 : 0, summary.GetProperty("created").GetInt32());
            Assert.Equal(run == 0 ? 0 : 2, summary.GetProperty("unchanged").GetInt32());
        }

        using var client = await http.GetAsync($"/api/admin/clients/{newClient}");
        Assert.Equal(newDepartment, (await RegistryFixture.Expect(client, HttpStatusCode.OK)).GetProperty("departmentCode").GetString());
    }

    [Fact]
    public async Task Import_OneInvalidEntry_NothingStored()
    {
        using var http = await fixture.PlatformClientAsync();
        var newDepartment = RegistryFixture.Unique("bad");
        var document = new
        {
            departments = new[] { new { code = newDepartment, name = "部门", nameEn = "x" } },
            clients = new object[] { new { clientId = RegistryFixture.Unique("c"), departmentCode = newDepartment, displayName = "x", kind = "web",
                redirectUris = new[] { "http://not-loopback.example/cb" }, scopes = new[] { "openid" } } },
        };
        using var response = await http.PostAsJsonAsync("/api/admin/registry/import", document);
        var problem = await RegistryFixture.Expect(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("clients[0].redirectUris[0]", out _), problem.ToString());
        using var department = await http.GetAsync($"/api/admin/departments/{newDepartment}");
        await RegistryFixture.Expect(department, HttpStatusCode.NotFound);
    }

    private static StringContent Json(JsonElement element) => new(element.GetRawText(), System.Text.Encoding.UTF8, "application/json");

    private static async Task<int> AuditTotalAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/api/admin/audit-events?pageSize=1");
        return (await RegistryFixture.Expect(response, HttpStatusCode.OK)).GetProperty("total").GetInt32();
    }
}
