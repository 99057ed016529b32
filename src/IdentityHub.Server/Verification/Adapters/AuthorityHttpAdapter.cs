using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace IdentityHub.Server.Verification.Adapters;

/// <summary>
/// What every authority API shares: a JSON POST with the city's credentials and the idempotency key,
/// a per-call timeout, and the mapping of transport failures to the taxonomy (429 RateLimited; 400/422
/// InvalidInput; 401/403, 5xx, unreadable answers and connection failures ProviderError; no answer in
/// time Timeout). Each provider class says where to post, what to send and how to read a 200 answer.
/// </summary>
public abstract class AuthorityHttpAdapter(string provider, AuthorityOptions options, HttpClient http) : IVerificationAdapter
{
    public string Provider => provider;

    public abstract VerificationKind Kind { get; }

    /// <summary>Relative to the provider's base URL.</summary>
    protected abstract string Path { get; }

    /// <summary>The JSON body for a request, or null when the request is not for this kind of check.</summary>
    protected abstract object? Body(VerificationRequest request);

    /// <summary>Reads a 200 answer.</summary>
    protected abstract VerificationResult Interpret(JsonElement answer);

    public async Task<VerificationResult> VerifyAsync(VerificationRequest request, CancellationToken cancellationToken)
    {
        if (options.BaseUrl is null)
        {
            return Result(VerificationOutcome.Unsupported, detail: "The provider has no base URL configured.");
        }

        if (Body(request) is not { } body)
        {
            return Result(VerificationOutcome.InvalidInput, detail: "The request lacks what this check needs.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        using var message = new HttpRequestMessage(HttpMethod.Post, options.BaseUrl.ToString().TrimEnd('/') + "/" + Path)
        {
            Content = JsonContent.Create(body),
        };
        message.Headers.Add("Idempotency-Key", request.IdempotencyKey);
        if (options.ClientId is not null)
        {
            message.Headers.Add("X-Client-Id", options.ClientId);
        }

        if (options.ApiKey is not null)
        {
            message.Headers.Add("X-Api-Key", options.ApiKey);
        }

        try
        {
            using var response = await http.SendAsync(message, timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            var status = (int)response.StatusCode;
            return response.StatusCode switch
            {
                HttpStatusCode.OK => Read(text),
                HttpStatusCode.TooManyRequests => Result(VerificationOutcome.RateLimited, raw: "http_429"),
                HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity => Result(VerificationOutcome.InvalidInput, raw: "http_" + status),
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                    Result(VerificationOutcome.ProviderError, raw: "http_" + status, detail: "The authority refused the city's credentials."),
                _ => Result(VerificationOutcome.ProviderError, raw: "http_" + status),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Result(VerificationOutcome.Timeout, detail: $"No answer within {options.Timeout.TotalSeconds:0.###} s.");
        }
        catch (HttpRequestException e)
        {
            return Result(VerificationOutcome.ProviderError, raw: "connection", detail: e.HttpRequestError.ToString());
        }
    }

    private VerificationResult Read(string text)
    {
        try
        {
            using var json = JsonDocument.Parse(text);
            return Interpret(json.RootElement);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return Result(VerificationOutcome.ProviderError, raw: "unreadable", detail: "The authority's answer could not be read.");
        }
    }

    protected VerificationResult Result(VerificationOutcome outcome, string? transactionId = null, string? raw = null,
        IReadOnlyList<string>? mismatched = null, string? detail = null) =>
        // Authorities bill the calls they answered about the person or enterprise, not refusals and failures.
        new(outcome, provider, Kind, transactionId, raw,
            Billable: outcome is VerificationOutcome.Match or VerificationOutcome.Mismatch or VerificationOutcome.NotFound,
            MismatchedFields: mismatched, Detail: detail);

    protected static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
