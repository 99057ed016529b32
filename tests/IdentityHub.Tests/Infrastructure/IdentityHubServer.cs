using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>
/// The real IdentityHub server on Kestrel, on a free loopback port, over a database of its own.
/// Tests talk to it over real HTTP only (<see cref="BaseAddress"/>).
/// </summary>
public sealed class IdentityHubServer : WebApplicationFactory<Program>
{
    public const string AdminClientId = "test-admin";

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    private IdentityHubServer(TestDatabase database, Dictionary<string, string?> settings, string adminSecret, Action<IServiceCollection>? services)
    {
        Database = database;
        _settings = settings;
        AdminClientSecret = adminSecret;
        _services = services;
    }

    public TestDatabase Database { get; }

    public string AdminClientSecret { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public string Authority => BaseAddress.ToString().TrimEnd('/');

    /// <summary>
    /// Starts a server. <paramref name="configure"/> may add or override configuration keys; <paramref name="services"/>
    /// may add services (a log capture, for example).
    /// </summary>
    public static async Task<IdentityHubServer> StartAsync(string provider, Action<Dictionary<string, string?>>? configure = null,
        Action<IServiceCollection>? services = null)
    {
        var database = await TestDatabase.CreateAsync(provider);
        var adminSecret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = database.Provider,
            ["Database:DataDirectory"] = database.DataDirectory,
            ["ConnectionStrings:IdentityHub"] = database.ConnectionString,
            ["DemoData:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Bootstrap:AdminClient:ClientId"] = AdminClientId,
            ["Bootstrap:AdminClient:ClientSecret"] = adminSecret,
        };
        configure?.Invoke(settings);
        var server = new IdentityHubServer(database, settings, adminSecret, services);
        server.UseKestrel(options => options.Listen(System.Net.IPAddress.Loopback, 0));
        server.StartServer();
        var address = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_services is not null)
        {
            builder.ConfigureServices(_services);
        }
    }

    /// <summary>An HttpClient that talks to the server over the network, without following redirects.</summary>
    public HttpClient CreateHttpClient(bool followRedirects = false, System.Net.CookieContainer? cookies = null)
    {
        var handler = new HttpClientHandler
        {
            AllowAutoRedirect = followRedirects,
            UseCookies = cookies is not null,
            CookieContainer = cookies ?? new System.Net.CookieContainer(),
        };
        return new HttpClient(handler) { BaseAddress = BaseAddress };
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Database.DisposeAsync();
    }
}
