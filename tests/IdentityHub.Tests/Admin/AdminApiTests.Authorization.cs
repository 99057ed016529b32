using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Tests.Admin;

public abstract partial class AdminApiTests
{
    [Theory]
    [InlineData(DepartmentsPath)]
    [InlineData(ClientsPath)]
    [InlineData(UsersPath)]
    public async Task AdminApi_NoToken_Returns401AndStoresNothing(string path)
    {
        var body = await ValidBodyAsync(path);
        using var http = Server.CreateHttpClient();

        using var response = await http.PostAsJsonAsync(path, body);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await AssertSameRequestSucceedsWithAdminTokenAsync(path, body);
    }

    [Theory]
    [InlineData(DepartmentsPath)]
    [InlineData(ClientsPath)]
    [InlineData(UsersPath)]
    public async Task AdminApi_GarbageToken_Returns401AndStoresNothing(string path)
    {
        var body = await ValidBodyAsync(path);

        using var response = await PostJsonAsync(path, body, token: "not-a-token." + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await AssertSameRequestSucceedsWithAdminTokenAsync(path, body);
    }

    /// <summary>
    /// An admin access token revoked by its client (RFC 7009) is refused by the admin API from then on, as by userinfo and
    /// introspection (the API validates with OpenIddict's validation stack, which must apply the same in-memory revocation).
    /// </summary>
    [Fact]
    public async Task AdminApi_RevokedToken_Returns401()
    {
        var token = await new AdminApiClient(Server).GetAdminTokenAsync();
        var body = await ValidBodyAsync(DepartmentsPath);
        using (var before = await PostJsonAsync(DepartmentsPath, body, token: token))
        {
            Assert.Equal(HttpStatusCode.Created, before.StatusCode);
        }

        using var http = Server.CreateHttpClient();
        var revoked = await http.RevokeTokenAsync(new TokenRevocationRequest
        {
            Address = Server.Authority + "/connect/revoke",
            ClientId = IdentityHubServer.AdminClientId,
            ClientSecret = Server.AdminClientSecret,
            Token = token,
            TokenTypeHint = "access_token",
        });
        Assert.False(revoked.IsError, revoked.Error);

        using var after = await PostJsonAsync(DepartmentsPath, await ValidBodyAsync(DepartmentsPath), token: token);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains(after.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    /// <summary>A token with a confirmation claim (cnf, never issued here) signed by the server's own key: 401, not a 500.</summary>
    [Fact]
    public async Task AdminApi_TokenWithCnf_Returns401()
    {
        var options = Server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<OpenIddict.Server.OpenIddictServerOptions>>().CurrentValue;
        var signing = options.SigningCredentials.First(c => c.Key is AsymmetricSecurityKey);
        var real = new JsonWebTokenHandler().ReadJsonWebToken(await new AdminApiClient(Server).GetAdminTokenAsync());
        var claims = real.Claims.Where(c => c.Type is not ("exp" or "iat" or "nbf")).ToList();
        var descriptor = new SecurityTokenDescriptor
        {
            TokenType = "at+jwt",
            Subject = new ClaimsIdentity(claims),
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = signing,
            Claims = new Dictionary<string, object> { ["cnf"] = new Dictionary<string, object> { ["jkt"] = Base64UrlEncoder.Encode(SHA256.HashData("a key"u8)) } },
        };
        var body = await ValidBodyAsync(DepartmentsPath);
        using (var control = await PostJsonAsync(DepartmentsPath, body,
            token: new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                TokenType = "at+jwt", Subject = new ClaimsIdentity(claims), Expires = DateTime.UtcNow.AddMinutes(10), SigningCredentials = signing,
            })))
        {
            Assert.Equal(HttpStatusCode.Created, control.StatusCode);
        }

        using var response = await PostJsonAsync(DepartmentsPath, await ValidBodyAsync(DepartmentsPath), token: new JsonWebTokenHandler().CreateToken(descriptor));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AdminApi_TokenSignedByAnotherKey_Returns401()
    {
        // A well-formed access token with the admin scope, for this issuer and audience, signed by a key that is not the server's.
        using var rsa = RSA.Create(2048);
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Server.BaseAddress.ToString(),
            Audience = "identityhub",
            TokenType = "at+jwt",
            Subject = new ClaimsIdentity([new Claim("sub", IdentityHubServer.AdminClientId), new Claim("client_id", IdentityHubServer.AdminClientId), new Claim("scope", "identityhub.admin")]),
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "forged" }, SecurityAlgorithms.RsaSha256),
        });
        var body = await ValidBodyAsync(DepartmentsPath);

        using var response = await PostJsonAsync(DepartmentsPath, body, token: forged);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await AssertSameRequestSucceedsWithAdminTokenAsync(DepartmentsPath, body);
    }

    [Theory]
    [InlineData(DepartmentsPath)]
    [InlineData(ClientsPath)]
    [InlineData(UsersPath)]
    public async Task AdminApi_TokenWithoutAdminScope_Returns403AndStoresNothing(string path)
    {
        // A department's machine client, registered with the profile scope only.
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var secret = (await RegisterClientAsync(MachineClient(clientId, department, "profile"))).GetProperty("clientSecret").GetString()!;
        using var tokenHttp = Server.CreateHttpClient();
        var token = await tokenHttp.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = Server.Authority + "/connect/token",
            ClientId = clientId,
            ClientSecret = secret,
            Scope = "profile",
        });
        Assert.False(token.IsError, token.Error + " " + token.ErrorDescription);
        var body = await ValidBodyAsync(path);

        using var response = await PostJsonAsync(path, body, token.AccessToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await AssertSameRequestSucceedsWithAdminTokenAsync(path, body);
    }

    [Fact]
    public async Task AdminApi_ClientWithoutAdminPermission_CannotObtainAdminScope()
    {
        var department = await CreateDepartmentAsync();
        var clientId = UniqueNames.Client();
        var secret = (await RegisterClientAsync(MachineClient(clientId, department, "profile"))).GetProperty("clientSecret").GetString()!;
        using var http = Server.CreateHttpClient();

        var token = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = Server.Authority + "/connect/token",
            ClientId = clientId,
            ClientSecret = secret,
            Scope = "identityhub.admin",
        });

        // OpenIddict answers a scope the client has no permission for with invalid_request.
        Assert.True(token.IsError, "A client registered without identityhub.admin was given that scope.");
        Assert.Null(token.AccessToken);
    }

    /// <summary>A body the endpoint accepts (its prerequisites created first), with names of its own.</summary>
    private async Task<object> ValidBodyAsync(string path) => path switch
    {
        DepartmentsPath => new { code = UniqueNames.Department(), name = "交通运输局" },
        ClientsPath => MachineClient(UniqueNames.Client(), await CreateDepartmentAsync()),
        UsersPath => new { userName = UniqueNames.User(), password = UniqueNames.Password(), phoneNumber = UniqueNames.Mobile() },
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, null),
    };

    /// <summary>The refused request left nothing behind: the very same request with the admin token creates the resource.</summary>
    private async Task AssertSameRequestSucceedsWithAdminTokenAsync(string path, object body)
    {
        using var response = await PostJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"The refused request seems to have stored something: {(int)response.StatusCode} {text}");
    }
}
