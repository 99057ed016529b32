using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Registry;

/// <summary>
/// The node keeps each client it serves in memory (ClientCache): a client that has just been used (its application,
/// secrets and policy cached) must still see every registry change at its very next request, and a secret's expiry
/// must be honoured by the clock alone. On SQLite and PostgreSQL.
/// </summary>
public abstract class ClientCacheTests<TFixture>(TFixture fixture) where TFixture : RegistryFixture
{
    [Fact]
    public async Task WarmClient_SecretAddedRevoked_ClientDisabled_DepartmentSuspended_EachAppliesToTheVeryNextRequest()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("cache");
        var oldSecret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!;
        var token = await WarmAsync(clientId, oldSecret);
        Assert.True(await ActiveAsync(clientId, oldSecret, token));

        using var http = await fixture.PlatformClientAsync();
        using var rotated = await http.PostAsJsonAsync($"/api/admin/clients/{clientId}/secrets", new { expiresInDays = 30 });
        var created = await RegistryFixture.Expect(rotated, HttpStatusCode.Created);
        var newSecret = created.GetProperty("clientSecret").GetString()!;
        Assert.Null(await TokenErrorAsync(clientId, newSecret));
        Assert.True(await ActiveAsync(clientId, newSecret, token));

        using var list = await http.GetAsync($"/api/admin/clients/{clientId}/secrets");
        var oldId = (await RegistryFixture.Expect(list, HttpStatusCode.OK)).EnumerateArray()
            .Single(s => s.GetProperty("id").GetString() != created.GetProperty("id").GetString()).GetProperty("id").GetString();
        await WarmAsync(clientId, oldSecret);
        using (var revoked = await http.DeleteAsync($"/api/admin/clients/{clientId}/secrets/{oldId}"))
        {
            await RegistryFixture.Expect(revoked, HttpStatusCode.OK);
        }

        Assert.Equal("invalid_client", await TokenErrorAsync(clientId, oldSecret));
        Assert.Equal("invalid_client", await IntrospectionErrorAsync(clientId, oldSecret, token));

        await WarmAsync(clientId, newSecret);
        await PostAsync(http, $"/api/admin/clients/{clientId}/disable");
        Assert.Equal("unauthorized_client", await TokenErrorAsync(clientId, newSecret));
        await PostAsync(http, $"/api/admin/clients/{clientId}/enable");
        Assert.Null(await TokenErrorAsync(clientId, newSecret));

        await WarmAsync(clientId, newSecret);
        await PostAsync(http, $"/api/admin/departments/{department}/suspend");
        Assert.Equal("unauthorized_client", await TokenErrorAsync(clientId, newSecret));
        await PostAsync(http, $"/api/admin/departments/{department}/activate");
        Assert.Null(await TokenErrorAsync(clientId, newSecret));
    }

    [Fact]
    public async Task UnknownClientId_Refused_ThenRegistered_WorksAtTheNextRequest()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("late");
        Assert.Equal("invalid_client", await TokenErrorAsync(clientId, "not-a-secret"));
        Assert.Equal("invalid_client", await TokenErrorAsync(clientId, "not-a-secret"));

        var secret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!;
        Assert.Null(await TokenErrorAsync(clientId, secret));
    }

    [Fact]
    public async Task SecretExpiring_AcceptedUntilItsExpiry_RefusedAfter_WithoutAnyWrite()
    {
        // The secret must be used (three times, so cached) before its expiry. A machine too slow for that proves
        // nothing either way: the test tries again with a new client and twice the time, and fails only on a refusal
        // answered before the expiry, or an acceptance after it.
        for (var window = TimeSpan.FromSeconds(10); ; window *= 2)
        {
            Assert.True(window <= TimeSpan.FromSeconds(80), "The machine was too slow to use a secret three times within 80 s.");
            if (await SecretExpiringAsync(window))
            {
                return;
            }
        }
    }

    /// <summary>False when the machine was too slow to use the secret three times before <paramref name="window"/> ran out.</summary>
    private async Task<bool> SecretExpiringAsync(TimeSpan window)
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("exp");
        var secret = (await fixture.RegisterAsync(RegistryFixture.MachineClient(clientId, department)))!;
        // The API's shortest expiry is a day: the test shortens it in the database before the client is first used
        // (so before this node caches it); nothing is written after that.
        var expires = DateTime.UtcNow + window;
        using (var scope = fixture.Server.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            var applicationId = await db.Set<HubApplication>().Where(a => a.ClientId == clientId).Select(a => a.Id).SingleAsync();
            Assert.Equal(1, await db.ClientSecrets.Where(s => s.ApplicationId == applicationId)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.ExpiresAtUtc, expires)));
        }

        if (await WarmAsync(clientId, secret, answeredBefore: expires) is not { } token)
        {
            return false;
        }

        while (DateTime.UtcNow <= expires.AddMilliseconds(200))
        {
            await Task.Delay(100);
        }

        Assert.Equal("invalid_client", await TokenErrorAsync(clientId, secret));
        Assert.Equal("invalid_client", await IntrospectionErrorAsync(clientId, secret, token));
        return true;
    }

    /// <summary>A few token requests, so the client is in the node's cache; returns the last access token.</summary>
    private async Task<string> WarmAsync(string clientId, string secret) => (await WarmAsync(clientId, secret, DateTime.MaxValue))!;

    /// <summary>As <see cref="WarmAsync(string, string)"/>, or null as soon as an answer comes at or after <paramref name="answeredBefore"/> (whatever it says).</summary>
    private async Task<string?> WarmAsync(string clientId, string secret, DateTime answeredBefore)
    {
        string? token = null;
        for (var i = 0; i < 3; i++)
        {
            using var http = fixture.Server.CreateHttpClient();
            using var response = await http.PostAsync("/connect/token", Form(clientId, secret));
            if (DateTime.UtcNow >= answeredBefore)
            {
                return null;
            }

            var json = await RegistryFixture.Expect(response, HttpStatusCode.OK);
            token = json.GetProperty("access_token").GetString();
        }

        return token!;
    }

    private static FormUrlEncodedContent Form(string clientId, string secret) => new(new Dictionary<string, string>
    {
        ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret,
    });

    private static async Task PostAsync(HttpClient http, string path)
    {
        using var response = await http.PostAsync(path, null);
        await RegistryFixture.Expect(response, HttpStatusCode.OK);
    }

    private async Task<string?> TokenErrorAsync(string clientId, string secret)
    {
        using var http = fixture.Server.CreateHttpClient();
        using var response = await http.PostAsync("/connect/token", Form(clientId, secret));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return response.IsSuccessStatusCode ? null : json.GetProperty("error").GetString();
    }

    private async Task<HttpResponseMessage> IntrospectAsync(string clientId, string secret, string token)
    {
        using var http = fixture.Server.CreateHttpClient();
        return await http.PostAsync("/connect/introspect", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = clientId, ["client_secret"] = secret, ["token"] = token, ["token_type_hint"] = "access_token",
        }));
    }

    /// <summary>RFC 7662: the token's owner authenticates; true when the token is active.</summary>
    private async Task<bool> ActiveAsync(string clientId, string secret, string token)
    {
        using var response = await IntrospectAsync(clientId, secret, token);
        return (await RegistryFixture.Expect(response, HttpStatusCode.OK)).GetProperty("active").GetBoolean();
    }

    /// <summary>The introspection endpoint's OAuth error code, or null when it answered.</summary>
    private async Task<string?> IntrospectionErrorAsync(string clientId, string secret, string token)
    {
        using var response = await IntrospectAsync(clientId, secret, token);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return response.IsSuccessStatusCode ? null : json.GetProperty("error").GetString();
    }
}

public sealed class SqliteClientCacheTests(RegistryFixture fixture)
    : ClientCacheTests<RegistryFixture>(fixture), IClassFixture<RegistryFixture>;

public sealed class PostgresClientCacheTests(PostgresRegistryFixture fixture)
    : ClientCacheTests<PostgresRegistryFixture>(fixture), IClassFixture<PostgresRegistryFixture>;
