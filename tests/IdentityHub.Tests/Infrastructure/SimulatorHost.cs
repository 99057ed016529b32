using System.Net.Http.Json;
using System.Text.Json;
using IdentityHub.VerificationSimulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>The verification simulator, started for real on a free loopback port; tests reach it over HTTP only.</summary>
public sealed class SimulatorHost : IAsyncDisposable
{
    public const string ApiKey = "simulator-test-key";

    private readonly WebApplication _app;

    private SimulatorHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri BaseAddress { get; }

    public static async Task<SimulatorHost> StartAsync()
    {
        var app = SimulatorApp.Build(["--environment=Development"], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Simulator:ApiKey"] = ApiKey,
                ["Logging:LogLevel:Default"] = "Warning",
            });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SimulatorHost(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>
    /// Configuration for IdentityHub's providers, all pointing here. The timeout is generous (a busy machine must not
    /// turn an answer into a timeout); the timeout keyword waits for whatever it is.
    /// </summary>
    public void Configure(Dictionary<string, string?> settings, string timeout = "00:00:10")
    {
        foreach (var (name, adapter) in new[] { ("public-security", "PublicSecurity"), ("carrier", "Carrier"), ("business-registry", "BusinessRegistry") })
        {
            AddProvider(settings, name, adapter, timeout);
        }
    }

    public void AddProvider(Dictionary<string, string?> settings, string name, string adapter, string timeout = "00:00:10", int maxRetries = 2,
        int breakAfterFailures = 5, string? fallback = null)
    {
        var prefix = "Verification:Providers:" + name + ":";
        settings[prefix + "Adapter"] = adapter;
        settings[prefix + "BaseUrl"] = BaseAddress.ToString();
        settings[prefix + "ApiKey"] = ApiKey;
        settings[prefix + "ClientId"] = "identityhub-test";
        settings[prefix + "Timeout"] = timeout;
        settings[prefix + "RetryDelay"] = "00:00:00";
        settings[prefix + "MaxRetries"] = maxRetries.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings[prefix + "BreakAfterFailures"] = breakAfterFailures.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (fallback is not null)
        {
            settings[prefix + "Fallback"] = fallback;
        }
    }

    public async Task AddPersonAsync(string name, string idNumber, string? mobile = null)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress };
        using var response = await http.PostAsJsonAsync("simulator/people", new { name, idNumber, mobile });
        response.EnsureSuccessStatusCode();
    }

    public async Task AddEnterpriseAsync(string creditCode, string name, string legalRepresentative)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress };
        using var response = await http.PostAsJsonAsync("simulator/enterprises", new { creditCode, name, legalRepresentative });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>How many calls reached <paramref name="endpoint"/> with the idempotency key (or in all, without one).</summary>
    public async Task<int> CallsAsync(string endpoint, string? idempotencyKey = null)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress };
        var query = "simulator/calls?endpoint=" + Uri.EscapeDataString(endpoint)
            + (idempotencyKey is null ? "" : "&idempotencyKey=" + Uri.EscapeDataString(idempotencyKey));
        var json = await http.GetFromJsonAsync<JsonElement>(query);
        return json.GetProperty("count").GetInt32();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
