using System.Net.Http.Headers;
using System.Net.Http.Json;
using Duende.IdentityModel.Client;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>Calls /api/admin with a client-credentials token of the bootstrap administration client.</summary>
public sealed class AdminApiClient(IdentityHubServer server)
{
    public async Task<string> GetAdminTokenAsync()
    {
        using var http = server.CreateHttpClient();
        var response = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = server.Authority + "/connect/token",
            ClientId = IdentityHubServer.AdminClientId,
            ClientSecret = server.AdminClientSecret,
            Scope = "identityhub.admin",
        });
        if (response.IsError)
        {
            throw new InvalidOperationException("Admin token refused: " + response.Error + " " + response.ErrorDescription);
        }

        return response.AccessToken!;
    }

    public async Task<HttpResponseMessage> PostAsync(string path, object body, string? token = null)
    {
        using var http = server.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? await GetAdminTokenAsync());
        return await http.PostAsJsonAsync(path, body);
    }

    /// <summary>
    /// Creates a department. Protocol tests compare sub with the account id, so by default the city
    /// allows the department public subjects (clients are pairwise unless registered "public").
    /// </summary>
    public async Task CreateDepartmentAsync(string code, string name = "测试部门", bool allowPublicSubject = true)
    {
        using var response = await PostAsync("/api/admin/departments", new { code, name });
        if (response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            return;
        }

        if (response.StatusCode != System.Net.HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Department not created: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        if (allowPublicSubject)
        {
            using var http = server.CreateHttpClient();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await GetAdminTokenAsync());
            var ceiling = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"/api/admin/departments/{code}/ceiling")).RootElement;
            using var put = await http.PutAsJsonAsync($"/api/admin/departments/{code}/ceiling",
                new { claims = ceiling.GetProperty("claims"), allowPublicSubject = true });
            if (!put.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"Ceiling not set: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
            }
        }
    }

    /// <summary>Registers a client and returns its secret (null for public clients).</summary>
    public async Task<string?> RegisterClientAsync(string clientId, string clientType, string[] grantTypes, string[] redirectUris,
        string[] scopes, string[]? postLogoutRedirectUris = null, string departmentCode = "test", string subjectType = "public",
        bool? idTokenOnRefresh = null)
    {
        await CreateDepartmentAsync(departmentCode);
        using var response = await PostAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode,
            displayName = "Test client " + clientId,
            clientType,
            grantTypes,
            redirectUris,
            postLogoutRedirectUris = postLogoutRedirectUris ?? [],
            scopes,
            subjectType,
            idTokenOnRefresh,
        });
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != System.Net.HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Client not registered: {(int)response.StatusCode} {text}");
        }

        var json = System.Text.Json.JsonDocument.Parse(text).RootElement;
        return json.TryGetProperty("clientSecret", out var secret) && secret.ValueKind == System.Text.Json.JsonValueKind.String ? secret.GetString() : null;
    }

    /// <summary>
    /// Sets a client's multi-factor requirement through its policy (PUT /api/admin/clients/{id}/claim-policy, as a
    /// department administrator would) and returns the policy the API answers with.
    /// </summary>
    public async Task<System.Text.Json.JsonElement> SetRequireMultiFactorAsync(string clientId, bool required)
    {
        using var http = server.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await GetAdminTokenAsync());
        var current = await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/admin/clients/{clientId}/claim-policy");
        using var put = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}/claim-policy", new
        {
            claims = current.GetProperty("claims"),
            requireMultiFactor = required,
        });
        var text = await put.Content.ReadAsStringAsync();
        if (!put.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Policy not set: {(int)put.StatusCode} {text}");
        }

        return System.Text.Json.JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// Sets a client's idTokenOnRefresh as an administrator edits it: GET /api/admin/clients/{id}, PUT it back with the value
    /// changed (the registration request's fields of the answer); asserts the answer shows the value.
    /// </summary>
    public async Task SetIdTokenOnRefreshAsync(string clientId, bool value)
    {
        using var http = server.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await GetAdminTokenAsync());
        var current = await http.GetFromJsonAsync<Dictionary<string, System.Text.Json.JsonElement>>($"/api/admin/clients/{clientId}");
        Assert.NotNull(current);
        var body = current!.Where(p => p.Key is not ("status" or "createdAtUtc" or "updatedAtUtc" or "clientType"))
            .ToDictionary(p => p.Key, p => (object?)p.Value);
        body["idTokenOnRefresh"] = value;
        using var put = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}", body);
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var updated = await put.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal(value, updated.GetProperty("idTokenOnRefresh").GetBoolean());
    }

    /// <summary>
    /// A new account with the given roles (platform-wide), signed in through the sign-in page: a cookie client for the
    /// role's APIs and screens (/api/audit for "auditor"), with the CSRF header the cookie-authenticated APIs ask for.
    /// </summary>
    public async Task<HttpClient> SignedInPersonAsync(params string[] roles)
    {
        var userName = "person-" + Guid.NewGuid().ToString("N")[..12];
        const string password = "Person-Passw0rd-2026";
        var userId = await CreateUserAsync(userName, password);
        using (var admin = server.CreateHttpClient())
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await GetAdminTokenAsync());
            using var put = await admin.PutAsJsonAsync($"/api/admin/users/{userId}/roles", new { roles });
            if (!put.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"Roles not set: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
            }
        }

        var http = server.CreateHttpClient(cookies: new System.Net.CookieContainer());
        var login = await http.GetStringAsync("/Account/Login");
        using var signIn = await http.PostAsync("/Account/Login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.SignInName"] = userName,
            ["Input.Password"] = password,
            ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(login),
            ["ReturnUrl"] = "/",
        }));
        if (signIn.StatusCode != System.Net.HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"Sign-in failed: {(int)signIn.StatusCode}");
        }

        http.DefaultRequestHeaders.Add("X-IdentityHub-Csrf", "1");
        return http;
    }

    /// <summary>Creates a citizen account and returns its id.</summary>
    public async Task<string> CreateUserAsync(string userName, string password, string? phoneNumber = null, string? displayName = null)
    {
        using var response = await PostAsync("/api/admin/users", new { userName, password, phoneNumber, displayName });
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != System.Net.HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"User not created: {(int)response.StatusCode} {text}");
        }

        return System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }
}
