using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Registry;

/// <summary>One IdentityHub server for a test class; every test creates its own departments, clients and people.</summary>
public class RegistryFixture : IAsyncLifetime
{
    public const string Password = "Registry-Passw0rd";

    private readonly string _provider;

    public RegistryFixture() => _provider = "Sqlite";

    protected RegistryFixture(string provider) => _provider = provider;

    public IdentityHubServer Server { get; private set; } = null!;

    public AdminApiClient Admin { get; private set; } = null!;

    private string? _token;

    public async Task InitializeAsync()
    {
        Server = await IdentityHubServer.StartAsync(_provider, Configure, ConfigureServices);
        Admin = new AdminApiClient(Server);
    }

    /// <summary>Extra server settings of a derived fixture.</summary>
    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    /// <summary>Services a derived fixture replaces after the server's own (a fault to inject, say).</summary>
    protected virtual void ConfigureServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services)
    {
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>An HttpClient carrying the bootstrap client's administration token.</summary>
    public async Task<HttpClient> PlatformClientAsync()
    {
        _token ??= await Admin.GetAdminTokenAsync();
        var http = Server.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        return http;
    }

    public async Task<string> CreateDepartmentAsync(string? code = null)
    {
        code ??= Unique("d");
        using var http = await PlatformClientAsync();
        using var response = await http.PostAsJsonAsync("/api/admin/departments", new { code, name = "部门 " + code, nameEn = "Department " + code });
        await Expect(response, HttpStatusCode.Created);
        return code;
    }

    /// <summary>Registers a client as the platform administrator; returns its secret (null for public clients).</summary>
    public async Task<string?> RegisterAsync(object request)
    {
        using var http = await PlatformClientAsync();
        using var response = await http.PostAsJsonAsync("/api/admin/clients", request);
        var json = await Expect(response, HttpStatusCode.Created);
        return json.TryGetProperty("clientSecret", out var secret) && secret.ValueKind == JsonValueKind.String ? secret.GetString() : null;
    }

    public static object WebClient(string clientId, string department, object? claimPolicy = null, string subjectType = "pairwise",
        int minimumAssuranceLevel = 1, string consentMode = "implicit") => new
    {
        clientId,
        departmentCode = department,
        displayName = "应用 " + clientId,
        kind = "web",
        redirectUris = new[] { "https://app.example.gov.cn/" + clientId + "/callback" },
        scopes = new[] { "openid", "profile", "phone", "email", "identity", "offline_access" },
        claimPolicy,
        subjectType,
        minimumAssuranceLevel,
        consentMode,
    };

    public static object MachineClient(string clientId, string department) => new
    {
        clientId,
        departmentCode = department,
        displayName = "机器 " + clientId,
        kind = "machine",
        scopes = Array.Empty<string>(),
    };

    /// <summary>Creates an account, gives it registry roles, signs it in and returns a cookie client for /api/admin.</summary>
    public async Task<HttpClient> PersonClientAsync(string[] roles, string? departmentCode = null) =>
        await SignedInClientAsync(await CreatePersonAsync(roles, departmentCode));

    /// <summary>A client signed in as <paramref name="userName"/> through the sign-in page's password form (its cookie).</summary>
    public async Task<HttpClient> SignedInClientAsync(string userName)
    {
        var cookies = new CookieContainer();
        var client = Server.CreateHttpClient(cookies: cookies);
        using (var page = await client.GetAsync("/Account/Login"))
        {
            var html = await page.Content.ReadAsStringAsync();
            using var login = await client.PostAsync("/Account/Login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.SignInName"] = userName,
                ["Input.Password"] = Password,
                ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
                ["ReturnUrl"] = "/",
            }));
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        client.DefaultRequestHeaders.Add("X-IdentityHub-Csrf", "1");
        return client;
    }

    /// <summary>Creates an account with registry roles; returns its user name (password <see cref="Password"/>).</summary>
    public async Task<string> CreatePersonAsync(string[] roles, string? departmentCode = null)
    {
        var userName = Unique("u");
        var userId = await Admin.CreateUserAsync(userName, Password);
        if (roles.Length > 0)
        {
            await SetRolesAsync(userId, roles, departmentCode);
        }

        return userName;
    }

    /// <summary>Sets an account's registry roles (an empty list removes them) through the admin API.</summary>
    public async Task SetRolesAsync(string userId, string[] roles, string? departmentCode = null)
    {
        using var http = await PlatformClientAsync();
        using var response = await http.PutAsJsonAsync($"/api/admin/users/{userId}/roles", new { roles, departmentCode });
        await Expect(response, HttpStatusCode.OK);
    }

    public static async Task<JsonElement> Expect(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}

public sealed class PostgresRegistryFixture : RegistryFixture
{
    public PostgresRegistryFixture() : base("Postgres")
    {
    }
}
