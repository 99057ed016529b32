using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Server.Oidc;

namespace IdentityHub.Tests.Registry;

/// <summary>
/// A client's idTokenOnRefresh through the admin API: false unless registered, kept in the application's settings where the
/// token paths read it (RefreshIdTokens.Of), replaced by a PUT, refused without authorization_code, carried by export and
/// import. On SQLite and PostgreSQL.
/// </summary>
public abstract class IdTokenOnRefreshTests<TFixture>(TFixture fixture) where TFixture : RegistryFixture
{
    [Fact]
    public async Task WebClient_True_StoredAndShown_PutWithoutIt_False()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("ior");
        await fixture.RegisterAsync(WebClient(clientId, department, idTokenOnRefresh: true));
        using var http = await fixture.PlatformClientAsync();
        Assert.True(OnRefresh(await GetAsync(http, clientId)));
        Assert.True(RefreshIdTokens.Of(await StoredApplication.SettingsAsync(fixture, clientId)));

        // A PUT replaces the settings: without the field the client is back on the default, no setting left behind.
        using (var put = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}", RegistryFixture.WebClient(clientId, department)))
        {
            Assert.False(OnRefresh(await RegistryFixture.Expect(put, HttpStatusCode.OK)));
        }

        Assert.False(OnRefresh(await GetAsync(http, clientId)));
        var settings = await StoredApplication.SettingsAsync(fixture, clientId);
        Assert.False(RefreshIdTokens.Of(settings));
        Assert.DoesNotContain(RefreshIdTokens.Setting, settings ?? "", StringComparison.Ordinal);

        using (var again = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}", WebClient(clientId, department, idTokenOnRefresh: true)))
        {
            Assert.True(OnRefresh(await RegistryFixture.Expect(again, HttpStatusCode.OK)));
        }

        Assert.True(RefreshIdTokens.Of(await StoredApplication.SettingsAsync(fixture, clientId)));
    }

    [Fact]
    public async Task WebClient_WithoutIt_FalseByDefault()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("iod");
        await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department));
        using var http = await fixture.PlatformClientAsync();
        var shown = await GetAsync(http, clientId);
        Assert.Equal(JsonValueKind.False, shown.GetProperty("idTokenOnRefresh").ValueKind);
        Assert.False(RefreshIdTokens.Of(await StoredApplication.SettingsAsync(fixture, clientId)));
    }

    [Fact]
    public async Task MachineClient_True_ProblemDetailsNamingTheField_NothingStored()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("iom");
        using var http = await fixture.PlatformClientAsync();
        using (var refused = await http.PostAsJsonAsync("/api/admin/clients", MachineClient(clientId, department, idTokenOnRefresh: true)))
        {
            var problem = await RegistryFixture.Expect(refused, HttpStatusCode.BadRequest);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Equal(400, problem.GetProperty("status").GetInt32());
            var errors = problem.GetProperty("errors");
            Assert.Equal("Only clients that sign people in (authorization_code) receive ID tokens.",
                errors.GetProperty("idTokenOnRefresh")[0].GetString());
            Assert.Single(errors.EnumerateObject());
        }

        using (var absent = await http.GetAsync($"/api/admin/clients/{clientId}"))
        {
            await RegistryFixture.Expect(absent, HttpStatusCode.NotFound);
        }

        // false (or absent) is what a machine client has anyway.
        await fixture.RegisterAsync(MachineClient(clientId, department, idTokenOnRefresh: false));
        Assert.False(OnRefresh(await GetAsync(http, clientId)));
    }

    [Fact]
    public async Task ExportImport_KeepsIt_SecondImportChangesNothing()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("iox");
        await fixture.RegisterAsync(WebClient(clientId, department, idTokenOnRefresh: true));
        using var http = await fixture.PlatformClientAsync();
        using var export = await http.GetAsync("/api/admin/registry/export");
        var entry = (await RegistryFixture.Expect(export, HttpStatusCode.OK)).GetProperty("clients").EnumerateArray()
            .Single(c => c.GetProperty("clientId").GetString() == clientId);
        Assert.True(OnRefresh(entry));

        // Importing the export as it is changes nothing.
        using (var same = await http.PostAsJsonAsync("/api/admin/registry/import", new { clients = new[] { entry } }))
        {
            var summary = await RegistryFixture.Expect(same, HttpStatusCode.OK);
            Assert.Equal(0, summary.GetProperty("updated").GetInt32());
            Assert.Equal(1, summary.GetProperty("unchanged").GetInt32());
        }

        using (var put = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}", RegistryFixture.WebClient(clientId, department)))
        {
            Assert.False(OnRefresh(await RegistryFixture.Expect(put, HttpStatusCode.OK)));
        }

        // Importing the exported entry puts it back (an update), and importing it again changes nothing.
        for (var run = 0; run < 2; run++)
        {
            using var imported = await http.PostAsJsonAsync("/api/admin/registry/import", new { clients = new[] { entry } });
            var summary = await RegistryFixture.Expect(imported, HttpStatusCode.OK);
            Assert.Equal(run == 0 ? 1 : 0, summary.GetProperty("updated").GetInt32());
        }

        Assert.True(OnRefresh(await GetAsync(http, clientId)));
        Assert.True(RefreshIdTokens.Of(await StoredApplication.SettingsAsync(fixture, clientId)));
    }

    [Fact]
    public async Task OpenApiDocument_DescribesIt_InTheRequestAndTheResponse()
    {
        using var http = fixture.Server.CreateHttpClient();
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        foreach (var schema in new[] { "ClientRegistrationRequest", "ClientResponse" })
        {
            Assert.True(schemas.GetProperty(schema).GetProperty("properties").TryGetProperty("idTokenOnRefresh", out _), schema);
        }
    }

    private static object WebClient(string clientId, string department, bool idTokenOnRefresh) => new
    {
        clientId,
        departmentCode = department,
        displayName = "应用 " + clientId,
        kind = "web",
        redirectUris = new[] { "https://app.example.gov.cn/" + clientId + "/callback" },
        scopes = new[] { "openid", "profile", "offline_access" },
        idTokenOnRefresh,
    };

    private static object MachineClient(string clientId, string department, bool idTokenOnRefresh) => new
    {
        clientId,
        departmentCode = department,
        displayName = "机器 " + clientId,
        kind = "machine",
        scopes = Array.Empty<string>(),
        idTokenOnRefresh,
    };

    /// <summary>The idTokenOnRefresh member of a client or export entry: absent or null reads as false.</summary>
    private static bool OnRefresh(JsonElement element) =>
        element.TryGetProperty("idTokenOnRefresh", out var value) && value.ValueKind == JsonValueKind.True;

    private static async Task<JsonElement> GetAsync(HttpClient http, string clientId)
    {
        using var response = await http.GetAsync($"/api/admin/clients/{clientId}");
        return await RegistryFixture.Expect(response, HttpStatusCode.OK);
    }
}

public sealed class SqliteIdTokenOnRefreshTests(RegistryFixture fixture)
    : IdTokenOnRefreshTests<RegistryFixture>(fixture), IClassFixture<RegistryFixture>;

public sealed class PostgresIdTokenOnRefreshTests(PostgresRegistryFixture fixture)
    : IdTokenOnRefreshTests<PostgresRegistryFixture>(fixture), IClassFixture<PostgresRegistryFixture>;
