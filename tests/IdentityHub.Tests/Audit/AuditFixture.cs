using System.Net;
using Duende.IdentityModel.Client;
using System.Text.Json;
using IdentityHub.Server.Registry;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// A server for audit tests: a checkpoint after every group commit, retention only on demand, security stamps
/// checked on every request, and the loopback proxy trusted so that tests can set the client IP (X-Forwarded-For).
/// Every test creates its own departments, clients and people, and filters on them.
/// </summary>
public class AuditFixture : RegistryFixture
{
    public const string NodeId = "test-node";

    private HttpClient? _auditor;

    public AuditFixture()
    {
    }

    protected AuditFixture(string provider) : base(provider)
    {
    }

    /// <param name="services">Services replaced after the server's own (SQLite only).</param>
    public static async Task<AuditFixture> StartAsync(string provider, Action<Dictionary<string, string?>>? configure = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var fixture = provider == "Postgres" ? new PostgresAuditFixture(configure) : new AuditFixture { Extra = configure, ExtraServices = services };
        await fixture.InitializeAsync();
        return fixture;
    }

    protected Action<Dictionary<string, string?>>? Extra { get; init; }

    private Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? ExtraServices { get; init; }

    protected override void ConfigureServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services) =>
        ExtraServices?.Invoke(services);

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Audit:NodeId"] = NodeId;
        settings["Audit:CheckpointInterval"] = "00:00:00";
        settings["Audit:RetentionInterval"] = "00:00:00";
        settings["Accounts:SecurityStampValidationInterval"] = "00:00:00";
        settings["Hosting:BehindTlsProxy"] = "true";
        Extra?.Invoke(settings);
    }

    /// <summary>A signed-in person with the auditor role (one per fixture), with the CSRF header set.</summary>
    public async Task<HttpClient> AuditorAsync() => _auditor ??= await PersonClientAsync([AdminRoles.Auditor]);

    /// <summary>GET /api/audit/events as the auditor; the items of one page (at most 200).</summary>
    public async Task<List<JsonElement>> EventsAsync(string query)
    {
        var auditor = await AuditorAsync();
        using var response = await auditor.GetAsync("/api/audit/events?limit=200&" + query);
        var page = await Expect(response, HttpStatusCode.OK);
        return page.GetProperty("items").EnumerateArray().ToList();
    }

    public async Task<JsonElement> VerifyAsync()
    {
        var auditor = await AuditorAsync();
        using var response = await auditor.GetAsync("/api/audit/verify");
        return await Expect(response, HttpStatusCode.OK);
    }

    /// <summary>A department with a web client (implicit consent); returns the department, client id and secret.</summary>
    public async Task<(string Department, string ClientId, string Secret)> NewWebClientAsync(object? claimPolicy = null)
    {
        var department = await CreateDepartmentAsync();
        var clientId = Unique("app");
        var secret = await RegisterAsync(WebClient(clientId, department, claimPolicy));
        return (department, clientId, secret!);
    }

    /// <summary>
    /// A department with a machine client; returns its client id and a function that asks the token endpoint for a
    /// client_credentials token with it over <paramref name="http"/>.
    /// </summary>
    public async Task<(string ClientId, Func<Task<TokenResponse>> TokenAsync)> NewMachineClientAsync(HttpClient http)
    {
        var department = await CreateDepartmentAsync();
        var clientId = Unique("m");
        var secret = (await RegisterAsync(MachineClient(clientId, department)))!;
        return (clientId, () => http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = Server.Authority + "/connect/token", ClientId = clientId, ClientSecret = secret,
        }));
    }

    /// <summary>A citizen with a mobile number and a display name; returns user name, id, mobile, display name.</summary>
    public async Task<Citizen> NewCitizenAsync()
    {
        var userName = Unique("c");
        var mobile = UniqueNames.Mobile();
        var displayName = "公民" + Guid.NewGuid().ToString("N")[..6];
        var id = await Admin.CreateUserAsync(userName, Password, mobile, displayName);
        return new Citizen(userName, id, mobile, displayName);
    }

    /// <summary>Posts the sign-in form as a browser with this user agent, client IP (X-Forwarded-For) and correlation id.</summary>
    public async Task<HttpStatusCode> SignInAsync(CookieContainer cookies, string signInName, string password, string userAgent = "AuditTest/1.0",
        string ip = "10.0.0.1", string? correlationId = null, string returnUrl = "/")
    {
        using var http = Server.CreateHttpClient(cookies: cookies);
        http.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
        http.DefaultRequestHeaders.Add("X-Forwarded-For", ip);
        var html = await http.GetStringAsync("/Account/Login?ReturnUrl=" + Uri.EscapeDataString(returnUrl));
        using var post = new HttpRequestMessage(HttpMethod.Post, "/Account/Login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.SignInName"] = signInName,
                ["Input.Password"] = password,
                ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
                ["ReturnUrl"] = returnUrl,
            }),
        };
        if (correlationId is not null)
        {
            post.Headers.Add("X-Correlation-Id", correlationId);
        }

        using var response = await http.SendAsync(post);
        return response.StatusCode;
    }
}

public sealed record Citizen(string UserName, string Id, string Mobile, string DisplayName);

public sealed class PostgresAuditFixture : AuditFixture
{
    public PostgresAuditFixture() : base("Postgres")
    {
    }

    internal PostgresAuditFixture(Action<Dictionary<string, string?>>? configure) : base("Postgres") => Extra = configure;
}
