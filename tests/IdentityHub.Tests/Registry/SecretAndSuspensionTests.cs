using System.Net;
using System.Net.Http.Json;

namespace IdentityHub.Tests.Registry;

/// <summary>
/// Secrets rotate without an outage; suspension and disabling stop tokens at the next request and revoke the
/// tokens issued before. On PostgreSQL.
/// </summary>
public sealed class SecretAndSuspensionTests(PostgresRegistryFixture fixture) : IClassFixture<PostgresRegistryFixture>
{
    [Fact]
    public async Task RotateSecret_OldWorksUntilRevoked_NewWorksAtOnce()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("rot");
        var oldSecret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!;
        Assert.Null(await TokenErrorAsync(clientId, oldSecret));

        using var http = await fixture.PlatformClientAsync();
        using var rotated = await http.PostAsJsonAsync($"/api/admin/clients/{clientId}/secrets", new { expiresInDays = 30 });
        var created = await RegistryFixture.Expect(rotated, HttpStatusCode.Created);
        var newSecret = created.GetProperty("clientSecret").GetString()!;
        Assert.NotEqual(oldSecret, newSecret);

        Assert.Null(await TokenErrorAsync(clientId, newSecret));
        Assert.Null(await TokenErrorAsync(clientId, oldSecret));

        // The secrets are listed by id and hint only; revoking the old one stops it at once.
        using var list = await http.GetAsync($"/api/admin/clients/{clientId}/secrets");
        var secrets = (await RegistryFixture.Expect(list, HttpStatusCode.OK)).EnumerateArray().ToList();
        Assert.Equal(2, secrets.Count);
        Assert.DoesNotContain(oldSecret, await list.Content.ReadAsStringAsync());
        var oldId = secrets.Single(s => s.GetProperty("id").GetString() != created.GetProperty("id").GetString()).GetProperty("id").GetString();
        using (var revoked = await http.DeleteAsync($"/api/admin/clients/{clientId}/secrets/{oldId}"))
        {
            Assert.False((await RegistryFixture.Expect(revoked, HttpStatusCode.OK)).GetProperty("active").GetBoolean());
        }

        Assert.Equal("invalid_client", await TokenErrorAsync(clientId, oldSecret));
        Assert.Null(await TokenErrorAsync(clientId, newSecret));
    }

    [Fact]
    public async Task SuspendDepartment_TokensRefusedAtOnce_ActivateRestores()
    {
        var department = await fixture.CreateDepartmentAsync();
        var first = RegistryFixture.Unique("s1");
        var second = RegistryFixture.Unique("s2");
        var firstSecret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(first, department)))!;
        var secondSecret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(second, department)))!;
        Assert.Null(await TokenErrorAsync(first, firstSecret));

        using var http = await fixture.PlatformClientAsync();
        using (var suspended = await http.PostAsync($"/api/admin/departments/{department}/suspend", null))
        {
            Assert.Equal("suspended", (await RegistryFixture.Expect(suspended, HttpStatusCode.OK)).GetProperty("status").GetString());
        }

        Assert.Equal("unauthorized_client", await TokenErrorAsync(first, firstSecret));
        Assert.Equal("unauthorized_client", await TokenErrorAsync(second, secondSecret));

        using (var activated = await http.PostAsync($"/api/admin/departments/{department}/activate", null))
        {
            await RegistryFixture.Expect(activated, HttpStatusCode.OK);
        }

        Assert.Null(await TokenErrorAsync(first, firstSecret));
    }

    [Fact]
    public async Task DisableClient_TokensRefused_OtherClientsUnaffected()
    {
        var department = await fixture.CreateDepartmentAsync();
        var disabled = RegistryFixture.Unique("off");
        var other = RegistryFixture.Unique("on");
        var disabledSecret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(disabled, department)))!;
        var otherSecret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(other, department)))!;

        using var http = await fixture.PlatformClientAsync();
        using (var response = await http.PostAsync($"/api/admin/clients/{disabled}/disable", null))
        {
            await RegistryFixture.Expect(response, HttpStatusCode.OK);
        }

        Assert.Equal("unauthorized_client", await TokenErrorAsync(disabled, disabledSecret));
        Assert.Null(await TokenErrorAsync(other, otherSecret));
    }

    [Fact]
    public async Task SuspendDepartment_TokensIssuedBefore_InactiveAtIntrospection_RefreshRefusedEvenAfterActivation()
    {
        var department = await fixture.CreateDepartmentAsync();
        var (clientId, secret, tokens) = await SignedInClientAsync(department);
        Assert.True(await ActiveAsync(clientId, secret, tokens.AccessToken!, "access_token"));
        Assert.True(await ActiveAsync(clientId, secret, tokens.RefreshToken!, "refresh_token"));

        using var http = await fixture.PlatformClientAsync();
        using (var suspended = await http.PostAsync($"/api/admin/departments/{department}/suspend", null))
        {
            await RegistryFixture.Expect(suspended, HttpStatusCode.OK);
        }

        Assert.False(await ActiveAsync(clientId, secret, tokens.AccessToken!, "access_token"));
        Assert.False(await ActiveAsync(clientId, secret, tokens.RefreshToken!, "refresh_token"));
        Assert.Equal("unauthorized_client", await RefreshErrorAsync(clientId, secret, tokens.RefreshToken!));

        // Activating the department again does not bring the revoked grant back: people sign in again.
        using (var activated = await http.PostAsync($"/api/admin/departments/{department}/activate", null))
        {
            await RegistryFixture.Expect(activated, HttpStatusCode.OK);
        }

        Assert.Equal("invalid_grant", await RefreshErrorAsync(clientId, secret, tokens.RefreshToken!));
        Assert.False(await ActiveAsync(clientId, secret, tokens.AccessToken!, "access_token"));
    }

    [Fact]
    public async Task DisableClient_TokensIssuedBefore_InactiveAtIntrospection_OtherClientKeepsItsTokens()
    {
        var department = await fixture.CreateDepartmentAsync();
        var (disabled, disabledSecret, disabledTokens) = await SignedInClientAsync(department);
        var (other, otherSecret, otherTokens) = await SignedInClientAsync(department);

        using var http = await fixture.PlatformClientAsync();
        using (var response = await http.PostAsync($"/api/admin/clients/{disabled}/disable", null))
        {
            await RegistryFixture.Expect(response, HttpStatusCode.OK);
        }

        Assert.False(await ActiveAsync(disabled, disabledSecret, disabledTokens.AccessToken!, "access_token"));
        Assert.False(await ActiveAsync(disabled, disabledSecret, disabledTokens.RefreshToken!, "refresh_token"));
        Assert.True(await ActiveAsync(other, otherSecret, otherTokens.AccessToken!, "access_token"));

        using (var response = await http.PostAsync($"/api/admin/clients/{disabled}/enable", null))
        {
            await RegistryFixture.Expect(response, HttpStatusCode.OK);
        }

        Assert.Equal("invalid_grant", await RefreshErrorAsync(disabled, disabledSecret, disabledTokens.RefreshToken!));
        Assert.Null(await RefreshErrorAsync(other, otherSecret, otherTokens.RefreshToken!));
    }

    [Fact]
    public async Task Changes_AreAudited_WithActorBeforeAndAfter()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("aud");
        await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department));
        using var http = await fixture.PlatformClientAsync();
        using (var response = await http.PostAsync($"/api/admin/clients/{clientId}/disable", null))
        {
            await RegistryFixture.Expect(response, HttpStatusCode.OK);
        }

        using var events = await http.GetAsync($"/api/admin/audit-events?targetType=client&targetId={clientId}");
        var items = (await RegistryFixture.Expect(events, HttpStatusCode.OK)).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["registry.client.disabled", "registry.client.created"], items.Select(e => e.GetProperty("eventType").GetString()));
        var disabled = items[0];
        Assert.Equal("client", disabled.GetProperty("actorKind").GetString());
        Assert.Contains("\"status\":\"active\"", disabled.GetProperty("before").GetString());
        Assert.Contains("\"status\":\"disabled\"", disabled.GetProperty("after").GetString());
    }

    /// <summary>A web client of the department and a citizen signed in to it (authorization code with PKCE, offline_access).</summary>
    private async Task<(string ClientId, string Secret, Duende.IdentityModel.Client.TokenResponse Tokens)> SignedInClientAsync(string department)
    {
        var clientId = RegistryFixture.Unique("web");
        var secret = (await fixture.RegisterAsync(RegistryFixture.WebClient(clientId, department)))!;
        var citizen = RegistryFixture.Unique("c");
        await fixture.Admin.CreateUserAsync(citizen, RegistryFixture.Password);
        var flow = new OidcFlow(fixture.Server, new IdentityHub.Tests.Infrastructure.BrowserlessSignIn(fixture.Server));
        var result = await flow.SignInAsync(clientId, secret, "openid profile offline_access", citizen, RegistryFixture.Password);
        Assert.NotNull(result.Tokens.RefreshToken);
        return (clientId, secret, result.Tokens);
    }

    /// <summary>RFC 7662 introspection by the client the token was issued to.</summary>
    private async Task<bool> ActiveAsync(string clientId, string secret, string token, string hint)
    {
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.PostAsync("/connect/introspect", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = clientId, ["client_secret"] = secret, ["token"] = token, ["token_type_hint"] = hint,
        }));
        return (await RegistryFixture.Expect(response, HttpStatusCode.OK)).GetProperty("active").GetBoolean();
    }

    /// <summary>The token endpoint's OAuth error code for a refresh request, or null when tokens were issued.</summary>
    private async Task<string?> RefreshErrorAsync(string clientId, string secret, string refreshToken)
    {
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["client_id"] = clientId, ["client_secret"] = secret, ["refresh_token"] = refreshToken,
        }));
        var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return response.IsSuccessStatusCode ? null : json.GetProperty("error").GetString();
    }

    /// <summary>The token endpoint's OAuth error code for a client-credentials request, or null when a token was issued.</summary>
    private async Task<string?> TokenErrorAsync(string clientId, string secret)
    {
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = secret,
        }));
        var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return response.IsSuccessStatusCode ? null : json.GetProperty("error").GetString();
    }
}
