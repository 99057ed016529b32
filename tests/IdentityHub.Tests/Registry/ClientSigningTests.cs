using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Registry;

/// <summary>
/// A client's token signing algorithms (idTokenSignedResponseAlg, accessTokenSignedResponseAlg) through the admin API:
/// refused outside RS256/ES256 and for an ID token algorithm without authorization_code, kept in the application's settings
/// where the signing paths read them (TokenSigning.Of), replaced by a PUT, carried by export and import. On SQLite and PostgreSQL.
/// </summary>
public abstract class ClientSigningTests<TFixture>(TFixture fixture) where TFixture : RegistryFixture
{
    [Fact]
    public async Task Register_AlgorithmOutsideTheList_ProblemPerFieldAndNothingStored()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("alg");
        using var http = await fixture.PlatformClientAsync();
        // JWA names are case-sensitive (RFC 7518 section 3.1); HS256 is a symmetric algorithm no client may register.
        using var response = await http.PostAsJsonAsync("/api/admin/clients", WebClient(clientId, department, "es256", "HS256"));
        var problem = await RegistryFixture.Expect(response, HttpStatusCode.BadRequest);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = problem.GetProperty("errors");
        const string expected = "Must be one of these signing algorithms (case-sensitive): RS256, ES256.";
        Assert.Equal(expected, errors.GetProperty("idTokenSignedResponseAlg")[0].GetString());
        Assert.Equal(expected, errors.GetProperty("accessTokenSignedResponseAlg")[0].GetString());
        await AssertAbsentAsync(http, clientId);
    }

    [Fact]
    public async Task Register_IdTokenAlgorithmWithoutAuthorizationCode_Refused_AccessTokenAlgorithmAccepted()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("m2m");
        using var http = await fixture.PlatformClientAsync();
        using (var refused = await http.PostAsJsonAsync("/api/admin/clients", MachineClient(clientId, department, idToken: "RS256", accessToken: "RS256")))
        {
            var problem = await RegistryFixture.Expect(refused, HttpStatusCode.BadRequest);
            Assert.Equal("Only clients that sign people in (authorization_code) receive ID tokens.",
                problem.GetProperty("errors").GetProperty("idTokenSignedResponseAlg")[0].GetString());
            Assert.False(problem.GetProperty("errors").TryGetProperty("accessTokenSignedResponseAlg", out _), problem.ToString());
        }

        await AssertAbsentAsync(http, clientId);
        await fixture.RegisterAsync(MachineClient(clientId, department, idToken: null, accessToken: "RS256"));
        var stored = await GetAsync(http, clientId);
        Assert.Null(Alg(stored, "idTokenSignedResponseAlg"));
        Assert.Equal("RS256", Alg(stored, "accessTokenSignedResponseAlg"));
        Assert.Equal(new ClientSigning(null, "RS256"), await StoredAsync(clientId));
    }

    [Fact]
    public async Task Rs256_StoredShown_PutWithoutClears_ExportImportKeeps()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("rs");
        await fixture.RegisterAsync(WebClient(clientId, department, "RS256", "RS256"));
        using var http = await fixture.PlatformClientAsync();
        var shown = await GetAsync(http, clientId);
        Assert.Equal("RS256", Alg(shown, "idTokenSignedResponseAlg"));
        Assert.Equal("RS256", Alg(shown, "accessTokenSignedResponseAlg"));
        Assert.Equal(new ClientSigning("RS256", "RS256"), await StoredAsync(clientId));

        using var export = await http.GetAsync("/api/admin/registry/export");
        var entry = (await RegistryFixture.Expect(export, HttpStatusCode.OK)).GetProperty("clients").EnumerateArray()
            .Single(c => c.GetProperty("clientId").GetString() == clientId);
        Assert.Equal("RS256", Alg(entry, "idTokenSignedResponseAlg"));
        Assert.Equal("RS256", Alg(entry, "accessTokenSignedResponseAlg"));

        // A PUT replaces the settings: without the algorithms the client is back on the server's default, no key left behind.
        using (var put = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}", RegistryFixture.WebClient(clientId, department)))
        {
            var updated = await RegistryFixture.Expect(put, HttpStatusCode.OK);
            Assert.Null(Alg(updated, "idTokenSignedResponseAlg"));
            Assert.Null(Alg(updated, "accessTokenSignedResponseAlg"));
        }

        Assert.Null(Alg(await GetAsync(http, clientId), "idTokenSignedResponseAlg"));
        Assert.DoesNotContain("hub:", await SettingsAsync(clientId) ?? "", StringComparison.Ordinal);

        // Importing the exported entry puts them back (an update), and importing it again changes nothing.
        for (var run = 0; run < 2; run++)
        {
            using var imported = await http.PostAsJsonAsync("/api/admin/registry/import", new { clients = new[] { entry } });
            var summary = await RegistryFixture.Expect(imported, HttpStatusCode.OK);
            Assert.Equal(run == 0 ? 1 : 0, summary.GetProperty("updated").GetInt32());
        }

        Assert.Equal("RS256", Alg(await GetAsync(http, clientId), "accessTokenSignedResponseAlg"));
        Assert.Equal(new ClientSigning("RS256", "RS256"), await StoredAsync(clientId));
    }

    [Fact]
    public async Task Es256_AcceptedStoredAndShown_ThenPutBackToRs256()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("es");
        await fixture.RegisterAsync(WebClient(clientId, department, "ES256", "ES256"));
        using var http = await fixture.PlatformClientAsync();
        var shown = await GetAsync(http, clientId);
        Assert.Equal("ES256", Alg(shown, "idTokenSignedResponseAlg"));
        Assert.Equal("ES256", Alg(shown, "accessTokenSignedResponseAlg"));
        Assert.Equal(new ClientSigning("ES256", "ES256"), await StoredAsync(clientId));

        using var put = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}", WebClient(clientId, department, null, "RS256"));
        await RegistryFixture.Expect(put, HttpStatusCode.OK);
        Assert.Equal(new ClientSigning(null, "RS256"), await StoredAsync(clientId));

        var machine = RegistryFixture.Unique("esm");
        await fixture.RegisterAsync(MachineClient(machine, department, idToken: null, accessToken: "ES256"));
        Assert.Equal(new ClientSigning(null, "ES256"), await StoredAsync(machine));
    }

    [Fact]
    public async Task OpenApiDocument_DescribesBothFields_InTheRequestAndTheResponse()
    {
        using var http = fixture.Server.CreateHttpClient();
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        foreach (var schema in new[] { "ClientRegistrationRequest", "ClientResponse" })
        {
            var properties = schemas.GetProperty(schema).GetProperty("properties");
            Assert.True(properties.TryGetProperty("idTokenSignedResponseAlg", out _), schema);
            Assert.True(properties.TryGetProperty("accessTokenSignedResponseAlg", out _), schema);
        }
    }

    public static object WebClient(string clientId, string department, string? idToken, string? accessToken) => new
    {
        clientId,
        departmentCode = department,
        displayName = "应用 " + clientId,
        kind = "web",
        redirectUris = new[] { "https://app.example.gov.cn/" + clientId + "/callback" },
        scopes = new[] { "openid", "profile" },
        idTokenSignedResponseAlg = idToken,
        accessTokenSignedResponseAlg = accessToken,
    };

    private static object MachineClient(string clientId, string department, string? idToken, string? accessToken) => new
    {
        clientId,
        departmentCode = department,
        displayName = "机器 " + clientId,
        kind = "machine",
        scopes = Array.Empty<string>(),
        idTokenSignedResponseAlg = idToken,
        accessTokenSignedResponseAlg = accessToken,
    };

    /// <summary>A string member of a JSON object; null when absent or null.</summary>
    public static string? Alg(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static async Task<JsonElement> GetAsync(HttpClient http, string clientId)
    {
        using var response = await http.GetAsync($"/api/admin/clients/{clientId}");
        return await RegistryFixture.Expect(response, HttpStatusCode.OK);
    }

    private static async Task AssertAbsentAsync(HttpClient http, string clientId)
    {
        using var response = await http.GetAsync($"/api/admin/clients/{clientId}");
        await RegistryFixture.Expect(response, HttpStatusCode.NotFound);
    }

    private Task<ClientSigning> StoredAsync(string clientId) => StoredApplication.SigningAsync(fixture, clientId);

    private Task<string?> SettingsAsync(string clientId) => StoredApplication.SettingsAsync(fixture, clientId);
}

/// <summary>A client's OpenIddict application as stored, read from the server's own database context.</summary>
internal static class StoredApplication
{
    public static async Task<string?> SettingsAsync(RegistryFixture fixture, string clientId)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>().Set<HubApplication>()
            .Where(a => a.ClientId == clientId).Select(a => a.Settings).SingleAsync();
    }

    /// <summary>The algorithms as the signing paths read them: the stored settings through TokenSigning.Of.</summary>
    public static async Task<ClientSigning> SigningAsync(RegistryFixture fixture, string clientId) =>
        TokenSigning.Of(await SettingsAsync(fixture, clientId));
}

public sealed class SqliteClientSigningTests(RegistryFixture fixture)
    : ClientSigningTests<RegistryFixture>(fixture), IClassFixture<RegistryFixture>;

public sealed class PostgresClientSigningTests(PostgresRegistryFixture fixture)
    : ClientSigningTests<PostgresRegistryFixture>(fixture), IClassFixture<PostgresRegistryFixture>;
