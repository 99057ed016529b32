using System.Net;
using System.Text.Json;
using System.Web;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using IdentityHub.Tests.Oidc;
using IdentityHub.Tests.Sessions;

namespace IdentityHub.Tests.Scale;

/// <summary>What the scale-out tests set up and walk through: apps, machine clients, users, the code flow as a browser at one node.</summary>
public sealed partial class ScaleOutTests
{
    private async Task<App> RegisterWebAppAsync(bool withPhone = false)
    {
        await EnsureDepartmentAsync();
        var clientId = "web-" + Guid.NewGuid().ToString("N")[..12];
        var redirect = $"https://{clientId}.apps.test/cb";
        var json = await cluster.A.AdminPostAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode = Department,
            displayName = "Scale " + clientId,
            clientType = "confidential",
            grantTypes = new[] { "authorization_code", "refresh_token" },
            redirectUris = new[] { redirect },
            postLogoutRedirectUris = Array.Empty<string>(),
            scopes = withPhone ? new[] { "openid", "profile", "phone", "offline_access" } : new[] { "openid", "profile", "offline_access" },
            // The key rotation checks the refreshed ID token's kid (not the default: RefreshIdTokens).
            idTokenOnRefresh = true,
        }, HttpStatusCode.Created);
        return new App(clientId, json.GetProperty("clientSecret").GetString()!, redirect);
    }

    private async Task<(string ClientId, string Secret)> RegisterMachineClientAsync(string department = Department)
    {
        await EnsureDepartmentAsync();
        var clientId = "svc-" + Guid.NewGuid().ToString("N")[..12];
        var json = await cluster.A.AdminPostAsync("/api/admin/clients", new
        {
            clientId,
            departmentCode = department,
            displayName = "Scale " + clientId,
            clientType = "confidential",
            grantTypes = new[] { "client_credentials" },
            redirectUris = Array.Empty<string>(),
            scopes = Array.Empty<string>(),
        }, HttpStatusCode.Created);
        return (clientId, json.GetProperty("clientSecret").GetString()!);
    }

    private async Task EnsureDepartmentAsync()
    {
        using var admin = await cluster.A.AdminAsync();
        using var response = await admin.PostAsync("/api/admin/departments",
            JsonContent(new { code = Department, name = "扩展测试部门" }));
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, await response.Content.ReadAsStringAsync());
    }

    private async Task<(string Id, string UserName)> CreateUserAsync(string? phoneNumber = null)
    {
        var userName = "scale" + Guid.NewGuid().ToString("N")[..10];
        var json = await cluster.A.AdminPostAsync("/api/admin/users", new { userName, password = Password, displayName = "扩展测试", phoneNumber },
            HttpStatusCode.Created);
        return (json.GetProperty("id").GetString()!, userName);
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    private static async Task<TokenResponse> CodeFlowAsync(ClusterNode node, CookieContainer cookies, App app, (string Id, string UserName)? user,
        string? prompt = null, string scope = "openid profile offline_access")
    {
        var pkce = Pkce.Create();
        var callback = await AuthorizeAsync(node, cookies, app, pkce, user?.UserName, prompt, scope);
        var code = HttpUtility.ParseQueryString(callback.Query)["code"];
        Assert.True(code is not null, "No code in " + callback);
        using var http = node.Client();
        var tokens = await http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = node.Url("connect/token"),
            ClientId = app.ClientId,
            ClientSecret = app.Secret,
            Code = code,
            RedirectUri = app.RedirectUri,
            CodeVerifier = pkce.Verifier,
        });
        Assert.False(tokens.IsError, tokens.Error + " " + tokens.ErrorDescription);
        return tokens;
    }

    /// <summary>Walks /connect/authorize as a browser: redirects, the sign-in page if one comes (and a user is given), back to the app.</summary>
    private static async Task<Uri> AuthorizeAsync(ClusterNode node, CookieContainer cookies, App app, Pkce pkce, string? userName, string? prompt,
        string scope = "openid profile offline_access")
    {
        var query = HttpUtility.ParseQueryString("");
        query["client_id"] = app.ClientId;
        query["response_type"] = "code";
        query["scope"] = scope;
        query["redirect_uri"] = app.RedirectUri;
        query["state"] = Guid.NewGuid().ToString("N");
        query["nonce"] = Guid.NewGuid().ToString("N");
        query["code_challenge"] = pkce.Challenge;
        query["code_challenge_method"] = "S256";
        if (prompt is not null)
        {
            query["prompt"] = prompt;
        }

        using var http = node.Client(cookies);
        var url = new Uri(node.Url("connect/authorize") + "?" + query);
        var signedIn = false;
        for (var hop = 0; hop < 15; hop++)
        {
            if (url.Authority != node.BaseAddress.Authority)
            {
                return url;
            }

            using var response = await http.GetAsync(url);
            if ((int)response.StatusCode is >= 300 and < 400)
            {
                url = new Uri(url, response.Headers.Location!);
                continue;
            }

            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && url.AbsolutePath == "/Account/Login" && userName is not null && !signedIn)
            {
                signedIn = true;
                using var post = await http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["Input.SignInName"] = userName,
                    ["Input.Password"] = Password,
                    ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(body),
                    ["ReturnUrl"] = HttpUtility.ParseQueryString(url.Query)["ReturnUrl"] ?? "",
                }));
                Assert.True((int)post.StatusCode is >= 300 and < 400, $"Sign-in refused at {node.Id}: {(int)post.StatusCode}");
                url = new Uri(url, post.Headers.Location!);
                continue;
            }

            throw new InvalidOperationException($"Stopped at {url} on {node.Id}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 400)]}");
        }

        throw new InvalidOperationException("Too many redirects.");
    }

    /// <summary>Posts the sign-in form at a node (fresh browser); returns the status: 302 signed in, 200 refused, 429 waiting.</summary>
    private static async Task<HttpStatusCode> PostSignInAsync(ClusterNode node, string signInName, string password, string? correlation = null)
    {
        using var http = node.Client(new CookieContainer());
        var html = await http.GetStringAsync("Account/Login");
        using var request = new HttpRequestMessage(HttpMethod.Post, "Account/Login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.SignInName"] = signInName,
                ["Input.Password"] = password,
                ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
            }),
        };
        if (correlation is not null)
        {
            request.Headers.Add("X-Correlation-Id", correlation);
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<bool> ActiveAtAsync(ClusterNode node, App app, string token)
    {
        using var http = node.Client();
        var result = await http.IntrospectTokenAsync(new TokenIntrospectionRequest
        {
            Address = node.Url("connect/introspect"),
            ClientId = app.ClientId,
            ClientSecret = app.Secret,
            Token = token,
        });
        Assert.False(result.IsError, result.Error);
        return result.IsActive;
    }
}
