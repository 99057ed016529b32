using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Admin;

/// <summary>
/// POST /api/admin/departments, /clients and /users over real HTTP against the real server. The facts
/// live in this abstract class (and its partial files); each sealed subclass runs them all on one
/// database provider, with one server per class.
/// </summary>
public abstract partial class AdminApiTests(IdentityHubServer server)
{
    protected const string DepartmentsPath = "/api/admin/departments";
    protected const string ClientsPath = "/api/admin/clients";
    protected const string UsersPath = "/api/admin/users";

    protected IdentityHubServer Server { get; } = server;

    protected AdminApiClient Admin { get; } = new(server);

    /// <summary>POSTs <paramref name="body"/> as JSON with the given bearer token (the admin token when null).</summary>
    protected async Task<HttpResponseMessage> PostJsonAsync(string path, object body, string? token = null) =>
        await Admin.PostAsync(path, body, token);

    /// <summary>POSTs a raw body, for JSON that a serializer would never write.</summary>
    protected async Task<HttpResponseMessage> PostRawAsync(string path, string body, string mediaType = "application/json")
    {
        using var http = Server.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await Admin.GetAdminTokenAsync());
        return await http.PostAsync(path, new StringContent(body, Encoding.UTF8, mediaType));
    }

    /// <summary>Asserts an RFC 9457 validation problem (400, application/problem+json) whose "errors" name every field given.</summary>
    protected static async Task<JsonElement> AssertValidationProblemAsync(HttpResponseMessage response, params string[] fields)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"Expected 400, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()), body);
        Assert.True(problem.TryGetProperty("errors", out var errors), "No \"errors\" member: " + body);
        foreach (var field in fields)
        {
            Assert.True(errors.TryGetProperty(field, out var messages), $"\"errors\" does not name {field}: {body}");
            Assert.NotEqual(0, messages.GetArrayLength());
            Assert.All(messages.EnumerateArray(), m => Assert.False(string.IsNullOrWhiteSpace(m.GetString())));
        }

        return problem;
    }

    /// <summary>Asserts an RFC 9457 problem with status 409 that names the conflicting field.</summary>
    protected static async Task AssertConflictAsync(HttpResponseMessage response, string field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Conflict, $"Expected 409, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(409, problem.GetProperty("status").GetInt32());
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()), body);
    }

    /// <summary>Asserts 201 Created with a Location header and returns the JSON body.</summary>
    protected static Task<JsonElement> AssertCreatedAsync(HttpResponseMessage response, string expectedLocation) =>
        AssertCreatedAsync(response, _ => expectedLocation);

    /// <summary>Asserts 201 Created with the Location that <paramref name="expectedLocation"/> derives from the body, and returns the body.</summary>
    protected static async Task<JsonElement> AssertCreatedAsync(HttpResponseMessage response, Func<JsonElement, string> expectedLocation)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Expected 201, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var created = JsonDocument.Parse(body).RootElement.Clone();
        Assert.NotNull(response.Headers.Location);
        Assert.Equal(expectedLocation(created), response.Headers.Location!.OriginalString);
        return created;
    }

    /// <summary>Reads the server's own database (SQLite or PostgreSQL) through its EF Core context.</summary>
    protected async Task<T> QueryDatabaseAsync<T>(Func<IdentityHubDbContext, Task<T>> query)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>());
    }

    protected async Task<string> CreateDepartmentAsync()
    {
        var code = UniqueNames.Department();
        using var response = await PostJsonAsync(DepartmentsPath, new { code, name = "测试部门 " + code });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return code;
    }

    /// <summary>A confidential machine-to-machine client: client_credentials, scope profile.</summary>
    protected static Dictionary<string, object?> MachineClient(string clientId, string departmentCode, params string[] scopes) => new()
    {
        ["clientId"] = clientId,
        ["departmentCode"] = departmentCode,
        ["displayName"] = "Machine client " + clientId,
        ["clientType"] = "confidential",
        ["grantTypes"] = new[] { "client_credentials" },
        ["redirectUris"] = Array.Empty<string>(),
        ["postLogoutRedirectUris"] = Array.Empty<string>(),
        ["scopes"] = scopes.Length == 0 ? new[] { "profile" } : scopes,
    };

    /// <summary>A department web portal: authorization code (+ refresh), https redirect URIs.</summary>
    protected static Dictionary<string, object?> WebClient(string clientId, string departmentCode, string clientType = "confidential") => new()
    {
        ["clientId"] = clientId,
        ["departmentCode"] = departmentCode,
        ["displayName"] = "网上办事大厅 " + clientId,
        ["clientType"] = clientType,
        ["grantTypes"] = clientType == "public" ? new[] { "authorization_code" } : new[] { "authorization_code", "refresh_token" },
        ["redirectUris"] = new[] { $"https://{clientId}.portal.example.gov.cn/signin-oidc" },
        ["postLogoutRedirectUris"] = new[] { $"https://{clientId}.portal.example.gov.cn/signout-callback-oidc" },
        ["scopes"] = new[] { "openid", "profile", "phone" },
    };

    /// <summary>Registers a client that must be accepted and returns the response body.</summary>
    protected async Task<JsonElement> RegisterClientAsync(Dictionary<string, object?> body)
    {
        using var response = await PostJsonAsync(ClientsPath, body);
        return await AssertCreatedAsync(response, $"{ClientsPath}/{body["clientId"]}");
    }
}

public sealed class SqliteAdminApiTests(SqliteServerFixture fixture) : AdminApiTests(fixture.Server), IClassFixture<SqliteServerFixture>;

public sealed class PostgresAdminApiTests(PostgresServerFixture fixture) : AdminApiTests(fixture.Server), IClassFixture<PostgresServerFixture>;
