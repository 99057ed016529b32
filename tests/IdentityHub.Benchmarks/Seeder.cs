using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace IdentityHub.Benchmarks;

/// <summary>What the scenarios need, created through the admin API of the running server.</summary>
public sealed record Seed(ClientInfo ServiceClient, ClientInfo WebClient, IReadOnlyList<string> Users, string Password, ClientInfo WebClientEs256,
    ClientInfo WebClientIdToken);

public static class Seeder
{
    public const string Department = "bench";
    public const string Password = "Bench-Passw0rd-2026";
    public const string RedirectUri = "http://127.0.0.1:9/callback";

    /// <summary>An access token of the bootstrap administration client (client credentials, identityhub.admin scope).</summary>
    public static string AdminToken(string baseUrl, string adminClientId, string adminSecret)
    {
        using var connection = new Http1Connection(baseUrl);
        return OidcFlows.Token(connection, new ClientInfo(adminClientId, adminSecret, "", "identityhub.admin"), null,
            ("grant_type", "client_credentials"), ("scope", "identityhub.admin")).AccessToken;
    }

    public static async Task<Seed> SeedAsync(string baseUrl, string adminClientId, string adminSecret, int users, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        using var http = OidcFlows.CreateClient(baseUrl, 8);
        var token = AdminToken(baseUrl, adminClientId, adminSecret);

        async Task<JsonElement> PostAsync(string path, object body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {text}");
            }

            return JsonDocument.Parse(text).RootElement.Clone();
        }

        await PostAsync("/api/admin/departments", new { code = Department, name = "性能测试", nameEn = "Benchmark" });
        var service = await PostAsync("/api/admin/clients", new
        {
            clientId = "bench-service",
            departmentCode = Department,
            displayName = "Benchmark service (client credentials)",
            clientType = "confidential",
            grantTypes = new[] { "client_credentials" },
            redirectUris = Array.Empty<string>(),
            postLogoutRedirectUris = Array.Empty<string>(),
            scopes = Array.Empty<string>(),
        });
        // A web application (code + PKCE, refresh tokens; the registry's defaults: RS256, no ID token with a refresh); one
        // registered with idTokenOnRefresh (refresh-id-token); one for ES256 ID and access tokens (OpenID Connect Dynamic
        // Client Registration 1.0 section 2, id_token_signed_response_alg) and idTokenOnRefresh: the refresh-es256 scenario.
        Task<JsonElement> WebClientAsync(string clientId, string displayName, string? algorithm, bool idTokenOnRefresh) => PostAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode = Department,
            displayName,
            clientType = "confidential",
            grantTypes = new[] { "authorization_code", "refresh_token" },
            redirectUris = new[] { RedirectUri },
            postLogoutRedirectUris = Array.Empty<string>(),
            scopes = new[] { "openid", "profile", "offline_access" },
            idTokenSignedResponseAlg = algorithm,
            accessTokenSignedResponseAlg = algorithm,
            idTokenOnRefresh,
        });
        var web = await WebClientAsync("bench-web", "Benchmark web application", null, false);
        var webIdToken = await WebClientAsync("bench-web-idtoken", "Benchmark web application (ID tokens with refreshes)", null, true);
        var webEs256 = await WebClientAsync("bench-web-es256", "Benchmark web application (ES256 tokens)", "ES256", true);

        // Each account costs the server one password hash: create them a few at a time.
        var names = Enumerable.Range(0, users).Select(i => $"bench-user-{i:D4}").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (name, _) =>
            await PostAsync("/api/admin/users", new { userName = name, password = Password, displayName = "Bench " + name[^4..] }));

        log.WriteLine($"  seeded 1 department, 4 clients and {users} users through the admin API in {clock.Elapsed.TotalSeconds:0.0} s");
        return new Seed(
            new ClientInfo("bench-service", service.GetProperty("clientSecret").GetString()!, "", ""),
            new ClientInfo("bench-web", web.GetProperty("clientSecret").GetString()!, RedirectUri, "openid profile offline_access"),
            names,
            Password,
            new ClientInfo("bench-web-es256", webEs256.GetProperty("clientSecret").GetString()!, RedirectUri, "openid profile offline_access"),
            new ClientInfo("bench-web-idtoken", webIdToken.GetProperty("clientSecret").GetString()!, RedirectUri, "openid profile offline_access"));
    }
}
