using System.Net;
using System.Net.Sockets;
using IdentityHub.Samples.DemoPortal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>The DemoPortal sample, hosted in the test process on Kestrel, signing in with a test IdentityHub.</summary>
public sealed class DemoPortalHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DemoPortalHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>http://127.0.0.1:port, without a trailing slash.</summary>
    public Uri BaseAddress { get; }

    public string Url(string path) => BaseAddress.ToString().TrimEnd('/') + path;

    /// <summary>
    /// A free loopback port for the portal. IdentityHub must know the portal's URL (its redirect URIs)
    /// before it seeds the demo client, so the port is chosen before either starts.
    /// </summary>
    public static Uri ReserveLoopbackAddress()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }

    /// <param name="settings">Overrides of the portal's configuration (Oidc:ClientId, Oidc:Scopes, Oidc:ClaimsRequest, ...).</param>
    public static async Task<DemoPortalHost> StartAsync(Uri address, string authority, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var app = DemoPortalApp.Build(["--environment=Development"], builder =>
        {
            builder.WebHost.UseUrls(address.ToString().TrimEnd('/'));
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Oidc:Authority"] = authority,
                ["Oidc:ClientId"] = "demo-portal",
                ["Oidc:ClientSecret"] = "demo-portal-secret-for-development-only",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            if (settings is not null)
            {
                builder.Configuration.AddInMemoryCollection(settings);
            }
        });
        await app.StartAsync();
        return new DemoPortalHost(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
