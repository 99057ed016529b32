using System.Net;
using System.Net.Http.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace IdentityHub.Tests.Registry;

/// <summary>A server without an ES256 signing key: its OpenIddict options lose every ES256 credential after they are built.</summary>
public sealed class NoEs256KeyFixture : RegistryFixture
{
    protected override void ConfigureServices(IServiceCollection services) =>
        services.PostConfigure<OpenIddictServerOptions>(o => o.SigningCredentials.RemoveAll(c => c.Algorithm == SecurityAlgorithms.EcdsaSha256));
}

/// <summary>
/// The registry refuses an algorithm the server cannot sign with now (TokenSigning.CanSign), in the API and the console,
/// and the console offers only the algorithms available, plus the client's current one; a client keeps the value it has.
/// </summary>
public sealed class SigningKeyUnavailableTests(NoEs256KeyFixture fixture) : IClassFixture<NoEs256KeyFixture>
{
    [Fact]
    public async Task Register_Es256WithoutKey_ProblemAndNothingStored_ConsoleOffersOnlyRs256AndRefusesInChinese()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("nokey");
        using var http = await fixture.PlatformClientAsync();
        using (var response = await http.PostAsJsonAsync("/api/admin/clients", ClientSigningTests<RegistryFixture>.WebClient(clientId, department, "ES256", "RS256")))
        {
            var problem = await RegistryFixture.Expect(response, HttpStatusCode.BadRequest);
            Assert.Equal("The server has no ES256 signing key at present; available: RS256.",
                problem.GetProperty("errors").GetProperty("idTokenSignedResponseAlg")[0].GetString());
            Assert.False(problem.GetProperty("errors").TryGetProperty("accessTokenSignedResponseAlg", out _), problem.ToString());
        }

        using (var absent = await http.GetAsync($"/api/admin/clients/{clientId}"))
        {
            await RegistryFixture.Expect(absent, HttpStatusCode.NotFound);
        }

        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var register = await ConsoleSigningTests.GetPageAsync(console, "/Admin/Clients/Register");
        Assert.Equal(["", "RS256"], ConsoleSigningTests.Options(register, "Input_IdTokenSignedResponseAlg"));
        Assert.Equal(["", "RS256"], ConsoleSigningTests.Options(register, "Input_AccessTokenSignedResponseAlg"));
        var chinese = await ConsoleLocalizationTests.PostRegisterAsync(console, ConsoleSigningTests.Form(clientId, "web", "", "ES256"));
        Assert.Contains("访问令牌签名算法：服务器目前没有 ES256 签名密钥，可用的算法：RS256。", chinese, StringComparison.Ordinal);

        await ConsoleLocalizationTests.SwitchToEnglishAsync(console);
        var english = await ConsoleLocalizationTests.PostRegisterAsync(console, ConsoleSigningTests.Form(clientId, "web", "", "ES256"));
        Assert.Contains("Access token signing algorithm: The server has no ES256 signing key at present; available: RS256.", english, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoredEs256WithoutKey_KeptByAnEdit_OfferedOnTheClientPage_ButNotNewlyGiven()
    {
        var department = await fixture.CreateDepartmentAsync();
        var clientId = RegistryFixture.Unique("kept");
        await fixture.RegisterAsync(ClientSigningTests<RegistryFixture>.WebClient(clientId, department, "RS256", null));
        // As if the ES256 key had been withdrawn after the client registered it.
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            Assert.Equal(1, await scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>().Set<HubApplication>()
                .Where(a => a.ClientId == clientId)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.Settings, "{\"" + TokenSigning.IdTokenSetting + "\":\"ES256\"}")));
        }

        using var console = await fixture.PersonClientAsync(["department-admin"], department);
        var edit = await ConsoleSigningTests.GetPageAsync(console, $"/Admin/Clients/Edit?id={clientId}");
        Assert.Equal(["", "RS256", "ES256"], ConsoleSigningTests.Options(edit, "Input_IdTokenSignedResponseAlg"));
        Assert.Equal("ES256", ConsoleSigningTests.Selected(edit, "Input_IdTokenSignedResponseAlg"));
        Assert.Equal(["", "RS256"], ConsoleSigningTests.Options(edit, "Input_AccessTokenSignedResponseAlg"));

        // Its other settings can still be edited; the value it has stays.
        var saved = await ConsoleSigningTests.PostAsync(console, $"/Admin/Clients/Edit?id={clientId}&handler=Save", edit,
            ConsoleSigningTests.Form(clientId, "web", "ES256", "RS256"));
        Assert.DoesNotContain("id=\"console-errors\"", saved, StringComparison.Ordinal);
        Assert.Equal(new ClientSigning("ES256", "RS256"), await StoredApplication.SigningAsync(fixture, clientId));

        // What it does not have yet is refused.
        using var http = await fixture.PlatformClientAsync();
        using var put = await http.PutAsJsonAsync($"/api/admin/clients/{clientId}", ClientSigningTests<RegistryFixture>.WebClient(clientId, department, "ES256", "ES256"));
        var problem = await RegistryFixture.Expect(put, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("accessTokenSignedResponseAlg", out _), problem.ToString());
        Assert.False(problem.GetProperty("errors").TryGetProperty("idTokenSignedResponseAlg", out _), problem.ToString());
        Assert.Equal(new ClientSigning("ES256", "RS256"), await StoredApplication.SigningAsync(fixture, clientId));
    }
}
