using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Server.Registry;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Tests.Admin;

public abstract partial class AdminApiTests
{
    [Fact]
    public async Task Clients_Confidential_Returns201WithSecretThatWorksAtTokenEndpoint()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();

        var body = await RegisterClientAsync(MachineClient(clientId, department));

        Assert.Equal(clientId, body.GetProperty("clientId").GetString());
        var secret = body.GetProperty("clientSecret").GetString();
        Assert.False(string.IsNullOrEmpty(secret));
        var token = await RequestClientCredentialsAsync(clientId, secret!, "profile");
        Assert.False(token.IsError, token.Error + " " + token.ErrorDescription);
        Assert.False(string.IsNullOrEmpty(token.AccessToken));
        var wrong = await RequestClientCredentialsAsync(clientId, secret + "x", "profile");
        Assert.True(wrong.IsError, "A wrong secret was accepted.");
        Assert.Null(wrong.AccessToken);
        Assert.Equal("invalid_client", JsonDocument.Parse(wrong.Raw!).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Clients_Public_Returns201WithoutSecretAndCanStartSignIn()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = WebClient(clientId, department, clientType: "public");

        var body = await RegisterClientAsync(request);

        Assert.Equal(clientId, body.GetProperty("clientId").GetString());
        Assert.True(!body.TryGetProperty("clientSecret", out var secret) || secret.ValueKind == JsonValueKind.Null, body.ToString());
        var stored = await QueryDatabaseAsync(db => db.Set<HubApplication>().AsNoTracking().SingleAsync(a => a.ClientId == clientId));
        Assert.Equal("public", stored.ClientType);
        Assert.Null(stored.ClientSecret);
        // The authorize endpoint accepts the new client and sends the browser to the sign-in page.
        using var http = Server.CreateHttpClient();
        using var authorize = await http.GetAsync(AuthorizeUrl(clientId, ((string[])request["redirectUris"]!)[0]));
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        Assert.Equal("/Account/Login", new Uri(Server.BaseAddress, authorize.Headers.Location!).AbsolutePath);
    }

    [Fact]
    public async Task Clients_ConfidentialSecret_IsStoredHashedNotInPlaintext()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();

        var secret = (await RegisterClientAsync(MachineClient(clientId, department))).GetProperty("clientSecret").GetString()!;

        var stored = await QueryDatabaseAsync(db => db.Set<HubApplication>().AsNoTracking().SingleAsync(a => a.ClientId == clientId));
        Assert.False(string.IsNullOrEmpty(stored.ClientSecret));
        Assert.NotEqual(secret, stored.ClientSecret);
        Assert.DoesNotContain(secret, stored.ClientSecret, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)), stored.ClientSecret, StringComparison.Ordinal);
        // An unsalted hash of the secret would be as good as the secret for a table lookup.
        Assert.DoesNotContain(Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(secret))), stored.ClientSecret, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret))), stored.ClientSecret, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Clients_TwoRegistrations_GetDifferentSecrets()
    {
        var department = await CreateDepartmentAsync();

        var first = (await RegisterClientAsync(MachineClient(UniqueNames.Client(), department))).GetProperty("clientSecret").GetString()!;
        var second = (await RegisterClientAsync(MachineClient(UniqueNames.Client(), department))).GetProperty("clientSecret").GetString()!;

        Assert.NotEqual(first, second);
        Assert.True(first.Length >= 43, "A generated secret should carry at least 256 bits: " + first.Length);
    }

    [Fact]
    public async Task Clients_DuplicateClientId_Returns409AndKeepsOriginal()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var secret = (await RegisterClientAsync(MachineClient(clientId, department))).GetProperty("clientSecret").GetString()!;
        var again = MachineClient(clientId, department);
        again["displayName"] = "Impostor";

        using var response = await PostJsonAsync(ClientsPath, again);

        await AssertConflictAsync(response, "clientId");
        var stored = await QueryDatabaseAsync(db => db.Set<HubApplication>().AsNoTracking().Where(a => a.ClientId == clientId).ToListAsync());
        Assert.Equal("Machine client " + clientId, Assert.Single(stored).DisplayName);
        var token = await RequestClientCredentialsAsync(clientId, secret, "profile");
        Assert.False(token.IsError, "The original secret stopped working: " + token.Error);
    }

    [Fact]
    public async Task Clients_MissingFields_Returns400NamingEachField()
    {
        var before = await QueryDatabaseAsync(db => db.Set<HubApplication>().CountAsync());

        using var response = await PostJsonAsync(ClientsPath, new { scopes = new[] { "openid" } });

        await AssertValidationProblemAsync(response, "clientId", "departmentCode", "displayName", "clientType", "grantTypes");
        Assert.Equal(before, await QueryDatabaseAsync(db => db.Set<HubApplication>().CountAsync()));
    }

    [Fact]
    public async Task Clients_InvalidClientId_Returns400AndStoresNothing()
    {
        var department = await CreateDepartmentAsync();
        var clientId = "Portal App " + UniqueNames.Client();

        using var response = await PostJsonAsync(ClientsPath, MachineClient(clientId, department));

        await AssertValidationProblemAsync(response, "clientId");
        Assert.False(await QueryDatabaseAsync(db => db.Set<HubApplication>().AnyAsync(a => a.ClientId == clientId)));
    }

    [Fact]
    public async Task Clients_HttpRedirectUriOnPublicHost_Returns400AndStoresNothing()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = WebClient(clientId, department);
        request["redirectUris"] = new[] { $"http://{clientId}.portal.example.gov.cn/signin-oidc" };

        using var response = await PostJsonAsync(ClientsPath, request);

        await AssertValidationProblemAsync(response, "redirectUris[0]");
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    [Fact]
    public async Task Clients_HttpRedirectUriOnLoopback_Returns201ForNativeApp()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = WebClient(clientId, department, clientType: "public");
        request["redirectUris"] = new[] { "http://127.0.0.1:8400/callback" };
        request["postLogoutRedirectUris"] = Array.Empty<string>();

        await RegisterClientAsync(request);

        var stored = await QueryDatabaseAsync(db => db.Set<HubApplication>().AsNoTracking().SingleAsync(a => a.ClientId == clientId));
        Assert.Contains("http://127.0.0.1:8400/callback", stored.RedirectUris!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clients_RedirectUriWithFragment_Returns400AndStoresNothing()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = WebClient(clientId, department);
        request["redirectUris"] = new[] { $"https://{clientId}.portal.example.gov.cn/signin-oidc#token" };

        using var response = await PostJsonAsync(ClientsPath, request);

        await AssertValidationProblemAsync(response, "redirectUris[0]");
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    [Fact]
    public async Task Clients_PostLogoutRedirectUriWithFragment_Returns400NamingIt()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = WebClient(clientId, department);
        request["postLogoutRedirectUris"] = new[] { $"https://{clientId}.portal.example.gov.cn/", $"https://{clientId}.portal.example.gov.cn/bye#x" };

        using var response = await PostJsonAsync(ClientsPath, request);

        await AssertValidationProblemAsync(response, "postLogoutRedirectUris[1]");
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    [Fact]
    public async Task Clients_UnknownScope_Returns400AndStoresNothing()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = MachineClient(clientId, department, "profile", "payroll.write");

        using var response = await PostJsonAsync(ClientsPath, request);

        var problem = await AssertValidationProblemAsync(response, "scopes");
        Assert.Contains("payroll.write", problem.GetProperty("errors").GetProperty("scopes")[0].GetString(), StringComparison.Ordinal);
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    [Fact]
    public async Task Clients_UnknownGrantType_Returns400AndStoresNothing()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = MachineClient(clientId, department);
        request["grantTypes"] = new[] { "client_credentials", "password" };

        using var response = await PostJsonAsync(ClientsPath, request);

        var problem = await AssertValidationProblemAsync(response, "grantTypes");
        Assert.Contains("password", problem.GetProperty("errors").GetProperty("grantTypes")[0].GetString(), StringComparison.Ordinal);
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    [Fact]
    public async Task Clients_UnknownDepartment_Returns400AndStoresNothing()
    {
        var clientId = UniqueNames.Client();
        var missingDepartment = UniqueNames.Department();

        using var response = await PostJsonAsync(ClientsPath, MachineClient(clientId, missingDepartment));

        await AssertValidationProblemAsync(response, "departmentCode");
        await AssertClientIdStillFreeAsync(clientId, await CreateDepartmentAsync());
    }

    [Fact]
    public async Task Clients_PublicWithClientCredentials_Returns400AndStoresNothing()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = MachineClient(clientId, department);
        request["clientType"] = "public";

        using var response = await PostJsonAsync(ClientsPath, request);

        await AssertValidationProblemAsync(response, "grantTypes");
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    [Fact]
    public async Task Clients_AdminScopeOnInteractiveClient_Returns400AndStoresNothing()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = WebClient(clientId, department);
        request["scopes"] = new[] { "openid", "identityhub.admin" };

        using var response = await PostJsonAsync(ClientsPath, request);

        var problem = await AssertValidationProblemAsync(response, "scopes");
        Assert.Contains("identityhub.admin", problem.GetProperty("errors").GetProperty("scopes")[0].GetString(), StringComparison.Ordinal);
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    [Fact]
    public async Task Clients_MalformedJson_Returns400ProblemNamingJsonPath()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();

        using var response = await PostRawAsync(ClientsPath,
            $"{{\"clientId\": \"{clientId}\", \"departmentCode\": \"{department}\", \"grantTypes\": [\"client_credentials\",]}}");

        // The trailing comma is where the parser stopped: the problem names that JSON path.
        await AssertValidationProblemAsync(response, "grantTypes[1]");
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    [Fact]
    public async Task Clients_WrongJsonType_Returns400NamingField()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var request = MachineClient(clientId, department);
        request["grantTypes"] = "client_credentials";

        using var response = await PostJsonAsync(ClientsPath, request);

        await AssertValidationProblemAsync(response, "grantTypes");
        await AssertClientIdStillFreeAsync(clientId, department);
    }

    /// <summary>Nothing was stored under <paramref name="clientId"/>: the database has no such client and a valid registration of it succeeds.</summary>
    private async Task AssertClientIdStillFreeAsync(string clientId, string department)
    {
        Assert.False(await QueryDatabaseAsync(db => db.Set<HubApplication>().AnyAsync(a => a.ClientId == clientId)),
            $"A rejected registration stored client {clientId}.");
        await RegisterClientAsync(MachineClient(clientId, department));
    }

    private async Task<TokenResponse> RequestClientCredentialsAsync(string clientId, string secret, string scope)
    {
        using var http = Server.CreateHttpClient();
        return await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = Server.Authority + "/connect/token",
            ClientId = clientId,
            ClientSecret = secret,
            Scope = scope,
        });
    }

    private static string AuthorizeUrl(string clientId, string redirectUri)
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        return "/connect/authorize?client_id=" + Uri.EscapeDataString(clientId)
            + "&response_type=code&scope=openid%20profile"
            + "&redirect_uri=" + Uri.EscapeDataString(redirectUri)
            + "&state=s" + Base64Url(RandomNumberGenerator.GetBytes(8))
            + "&code_challenge=" + challenge + "&code_challenge_method=S256";
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
