using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Factors.Sms;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IdentityHub.Tests.Factors;

/// <summary>What every SMS sender must do; each implementation inherits these tests.</summary>
public abstract class SmsSenderContract : IAsyncLifetime
{
    protected ISmsSender Sender { get; set; } = null!;

    /// <summary>The messages the sender delivered to <paramref name="phone"/>, oldest first.</summary>
    protected abstract IReadOnlyList<string> DeliveredTo(string phone);

    public abstract Task InitializeAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Send_OneMessage_DeliveredWithItsText()
    {
        await Sender.SendAsync(new SmsMessage("13800000001", "【统一身份认证】您的验证码是 123456"), CancellationToken.None);
        Assert.Equal(["【统一身份认证】您的验证码是 123456"], DeliveredTo("13800000001"));
    }

    [Fact]
    public async Task Send_TwoNumbers_EachGetsOnlyItsOwn()
    {
        await Sender.SendAsync(new SmsMessage("13800000002", "a"), CancellationToken.None);
        await Sender.SendAsync(new SmsMessage("13800000003", "b"), CancellationToken.None);
        Assert.Equal(["a"], DeliveredTo("13800000002"));
        Assert.Equal(["b"], DeliveredTo("13800000003"));
    }
}

public sealed class DevelopmentSmsSenderTests : SmsSenderContract
{
    private readonly DevelopmentSmsSender _outbox = new(TimeProvider.System, NullLogger<DevelopmentSmsSender>.Instance);

    public override Task InitializeAsync()
    {
        Sender = _outbox;
        return Task.CompletedTask;
    }

    protected override IReadOnlyList<string> DeliveredTo(string phone) => _outbox.MessagesTo(phone).Reverse().Select(m => m.Text).ToList();
}

/// <summary>The HTTP gateway sender against a stub gateway on a loopback port.</summary>
public sealed class HttpGatewaySmsSenderTests : SmsSenderContract
{
    private const string ApiKey = "gateway-test-key";
    private readonly ConcurrentQueue<(string To, string Text, string SignName, string? Authorization)> _received = new();
    private WebApplication _gateway = null!;
    private HttpClient _http = null!;

    public override async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        _gateway = builder.Build();
        _gateway.MapPost("/send", async (HttpContext context) =>
        {
            var body = await JsonDocument.ParseAsync(context.Request.Body);
            if (body.RootElement.GetProperty("to").GetString() == "13800000009")
            {
                return Results.StatusCode(503);
            }

            _received.Enqueue((body.RootElement.GetProperty("to").GetString()!, body.RootElement.GetProperty("text").GetString()!,
                body.RootElement.GetProperty("signName").GetString()!, context.Request.Headers.Authorization.ToString()));
            return Results.Ok();
        });
        await _gateway.StartAsync();
        var address = _gateway.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient();
        Sender = new HttpGatewaySmsSender(_http, Options.Create(new SmsOptions
        {
            Sender = "HttpGateway",
            Gateway = { Url = new Uri(address + "/send"), ApiKey = ApiKey },
        }));
    }

    public override async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
    }

    protected override IReadOnlyList<string> DeliveredTo(string phone) => _received.Where(m => m.To == phone).Select(m => m.Text).ToList();

    [Fact]
    public async Task Send_ToTheGateway_CarriesTheBearerKeyAndSignature()
    {
        await Sender.SendAsync(new SmsMessage("13800000004", "x"), CancellationToken.None);
        var message = Assert.Single(_received, m => m.To == "13800000004");
        Assert.Equal("Bearer " + ApiKey, message.Authorization);
        Assert.Equal("统一身份认证", message.SignName);
    }

    [Fact]
    public async Task Send_GatewayFails_Throws()
    {
        await Assert.ThrowsAsync<HttpRequestException>(() => Sender.SendAsync(new SmsMessage("13800000009", "x"), CancellationToken.None));
    }
}
