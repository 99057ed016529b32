using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityHub.Tests.Sessions;

/// <summary>
/// Back-channel logout endpoints of test department apps, on a real loopback port: every logout_token posted to
/// /logout/{clientId} is recorded; a test may have the next posts for a client answered 503, as by an app that is down.
/// </summary>
public sealed class LogoutReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _accepted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _refusals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _failuresLeft = new(StringComparer.Ordinal);

    private LogoutReceiver(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<LogoutReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var receiver = new LogoutReceiver(builder.Build());
        receiver._app.MapPost("/logout/{clientId}", receiver.ReceiveAsync);
        await receiver._app.StartAsync();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return receiver;
    }

    public string UriFor(string clientId) => new Uri(BaseAddress, "logout/" + clientId).ToString();

    /// <summary>The next <paramref name="times"/> posts for the client are answered 503 Service Unavailable.</summary>
    public void FailNext(string clientId, int times) => _failuresLeft[clientId] = times;

    public IReadOnlyList<string> AcceptedTokens(string clientId) =>
        _accepted.TryGetValue(clientId, out var tokens) ? [.. tokens] : [];

    public int Refusals(string clientId) => _refusals.GetValueOrDefault(clientId);

    /// <summary>Waits (bounded) until a logout token for the client has been accepted, and returns it.</summary>
    public async Task<string> WaitForTokenAsync(string clientId)
    {
        await Poll.UntilAsync(() => Task.FromResult(AcceptedTokens(clientId).Count > 0), $"a logout token for {clientId}");
        return AcceptedTokens(clientId)[0];
    }

    private async Task<IResult> ReceiveAsync(HttpContext http, string clientId)
    {
        var form = await http.Request.ReadFormAsync();
        if (_failuresLeft.TryGetValue(clientId, out var left) && left > 0)
        {
            _failuresLeft[clientId] = left - 1;
            _refusals.AddOrUpdate(clientId, 1, (_, n) => n + 1);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        _accepted.GetOrAdd(clientId, _ => new ConcurrentQueue<string>()).Enqueue(form["logout_token"].ToString());
        return Results.Ok();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
