using Duende.IdentityModel.Client;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Oidc;

public sealed class DiscoverySmokeTests
{
    [Fact]
    public async Task Discovery_Sqlite_AdvertisesS256Only()
    {
        await using var server = await IdentityHubServer.StartAsync("Sqlite");
        using var http = server.CreateHttpClient();
        var disco = await http.GetDiscoveryDocumentAsync(server.Authority);
        Assert.False(disco.IsError, disco.Error);
        Assert.Equal(["S256"], disco.CodeChallengeMethodsSupported);
        var admin = new AdminApiClient(server);
        Assert.NotEmpty(await admin.GetAdminTokenAsync());
    }
}
