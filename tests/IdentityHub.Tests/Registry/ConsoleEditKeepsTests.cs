using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Tests.Registry;

/// <summary>
/// A console save of a client's settings keeps what the form does not show: the client's JWKS (private_key_jwt) and its
/// ID token lifetime (an update replaces every setting, so the page must send them back as stored). Over real HTTP.
/// </summary>
public sealed class ConsoleEditKeepsTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task ConsoleSave_ClientWithJwksAndIdTokenLifetime_KeepsBoth()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("keep");
        using var key = RSA.Create(2048);
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(key.ExportParameters(false)) { KeyId = "k1" });
        await fixture.RegisterAsync(new
        {
            clientId,
            departmentCode = department,
            displayName = "保留设置 " + clientId,
            kind = "web",
            redirectUris = new[] { "https://app.example.gov.cn/" + clientId + "/callback" },
            scopes = new[] { "openid" },
            jwks = new { keys = new[] { new { kty = "RSA", use = "sig", kid = "k1", n = jwk.N, e = jwk.E } } },
            lifetimes = new { accessTokenSeconds = 600, identityTokenSeconds = 900 },
        });

        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var edit = await ConsoleSigningTests.GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}");
        var form = ConsoleSigningTests.Form(clientId, "web", "", "");
        form["Input.DisplayName"] = "改过的名称";
        form["Input.AccessTokenSeconds"] = "1200";
        var saved = await ConsoleSigningTests.PostAsync(console, $"/Admin/Clients/Edit?id={clientId}&handler=Save", edit, form);
        Assert.DoesNotContain("id=\"console-errors\"", saved, StringComparison.Ordinal);

        using var platform = await fixture.PlatformClientAsync();
        var client = await platform.GetFromJsonAsync<JsonElement>($"/api/admin/clients/{clientId}");
        Assert.Equal("改过的名称", client.GetProperty("displayName").GetString());
        Assert.Equal(1200, client.GetProperty("lifetimes").GetProperty("accessTokenSeconds").GetInt32());
        Assert.Equal(900, client.GetProperty("lifetimes").GetProperty("identityTokenSeconds").GetInt32());
        var keys = client.GetProperty("jwks").GetProperty("keys");
        Assert.Equal(1, keys.GetArrayLength());
        Assert.Equal(jwk.N, keys[0].GetProperty("n").GetString());
    }
}
