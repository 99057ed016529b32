using System.Net;
using System.Net.Sockets;
using IdentityHub.Samples.DemoPortal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>Which department app a DemoPortal instance is (the sample runs as several portals).</summary>
public sealed record PortalIdentity(string ClientId, string ClientSecret, string Name, string? KeyDirectory = null)
{
    public static PortalIdentity Demo { get; } = new("demo-portal", "demo-portal-secret-for-development-only", "演示部门网上办事大厅");
}

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

    /// <summary>The portal's services (its session store, its cookie options), for tests that look inside.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// A free loopback port for the portal. IdentityHub must know the portal's URL (its redirect URIs)
    /// before it seeds the demo client, so the port is chosen before either starts.
    /// </summary>
    public static Uri ReserveLoopbackAddress()
    {
        return new Uri($"http://127.0.0.1:{TestPorts.Free()}");
    }

    /// <param name="identity">Which sample portal (client, name, key directory); the demo portal by default.</param>
    /// <param name="settings">Overrides of the portal's configuration (Oidc:Scopes, Oidc:ClaimsRequest, ...).</param>
    public static async Task<DemoPortalHost> StartAsync(Uri address, string authority, PortalIdentity? identity = null,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        identity ??= PortalIdentity.Demo;
        var app = DemoPortalApp.Build(["--environment=Development"], builder =>
        {
            builder.WebHost.UseUrls(address.ToString().TrimEnd('/'));
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Oidc:Authority"] = authority,
                ["Oidc:ClientId"] = identity.ClientId,
                ["Oidc:ClientSecret"] = identity.ClientSecret,
                ["Portal:Name"] = identity.Name,
                ["Portal:KeyDirectory"] = identity.KeyDirectory,
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
