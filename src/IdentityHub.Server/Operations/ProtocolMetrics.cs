using System.Diagnostics;
using OpenIddict.Server.AspNetCore;

namespace IdentityHub.Server.Operations;

/// <summary>
/// Measures every OpenID Connect endpoint request (/connect/...): duration, and for the token endpoint what was issued
/// or refused, read from OpenIddict's request and response (grant_type, client_id, the RFC 6749 section 5.2 error).
/// </summary>
public sealed class ProtocolMetrics(RequestDelegate next, HubMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!path.StartsWithSegments("/connect", out var rest))
        {
            await next(context);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var endpoint = rest.Value?.Trim('/') is { Length: > 0 } name && !name.Contains('/') ? name : "other";
        using var activity = HubMetrics.ActivitySource.StartActivity("identityhub." + endpoint);
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            var transaction = context.Features.Get<OpenIddictServerAspNetCoreFeature>()?.Transaction;
            var request = transaction?.Request;
            var error = transaction?.Response?.Error ?? (failed || context.Response.StatusCode >= 500 ? "server_error" : null);
            metrics.ProtocolRequest(endpoint, request?.GrantType, request?.ClientId, error, Stopwatch.GetElapsedTime(started));
            activity?.SetTag("oauth.endpoint", endpoint);
            activity?.SetTag("oauth.grant_type", request?.GrantType);
            activity?.SetTag("oauth.client_id", request?.ClientId);
            if (error is not null)
            {
                activity?.SetTag("oauth.error", error);
                activity?.SetStatus(ActivityStatusCode.Error, error);
            }
        }
    }
}
