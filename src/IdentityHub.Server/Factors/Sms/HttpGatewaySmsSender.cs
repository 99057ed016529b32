using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Factors.Sms;

/// <summary>
/// Sends through an HTTP SMS gateway: POST {"to", "text", "signName"} as JSON with a bearer API key.
/// Retries, timeouts and the circuit breaker come from the standard resilience handler.
/// </summary>
public sealed class HttpGatewaySmsSender(HttpClient http, IOptions<SmsOptions> options) : ISmsSender
{
    public async Task SendAsync(SmsMessage message, CancellationToken cancellationToken)
    {
        var gateway = options.Value.Gateway;
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.Url)
        {
            Content = JsonContent.Create(new { to = message.PhoneNumber, text = message.Text, signName = gateway.SignName }),
        };
        if (!string.IsNullOrEmpty(gateway.ApiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", gateway.ApiKey);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
    }
}
