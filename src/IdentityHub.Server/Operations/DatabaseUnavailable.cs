using System.Data.Common;
using System.Net.Sockets;

namespace IdentityHub.Server.Operations;

/// <summary>
/// A request that needs the database while it is unreachable gets 503 Service Unavailable with Retry-After at once
/// (RFC 9110 section 15.6.4), not a 500: the node itself is fine and recovers by itself when the database returns
/// (connection pools open new connections). APIs and protocol endpoints get RFC 9457 problem details; pages the
/// localised error page (status code pages re-execute /Error).
/// </summary>
public sealed class DatabaseUnavailable(RequestDelegate next, ILogger<DatabaseUnavailable> logger)
{
    public const int RetryAfterSeconds = 5;

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (IsDatabaseUnavailable(e) && !context.Response.HasStarted)
        {
            logger.LogWarning("Database unavailable ({Error}): {Method} {Path} answered 503", Innermost(e).GetType().Name,
                context.Request.Method, context.Request.Path.Value);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (WantsJson(context))
            {
                await Results.Problem(
                    title: "Database unavailable",
                    detail: "IdentityHub cannot reach its database. Try again shortly.",
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    type: "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4").ExecuteAsync(context);
            }
        }
    }

    /// <summary>Connection refused, reset or timed out, the server shutting down: transient database failures.</summary>
    public static bool IsDatabaseUnavailable(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DbException { IsTransient: true }:
                case SocketException:
                case TimeoutException when e.Source?.StartsWith("Npgsql", StringComparison.Ordinal) == true:
                    return true;
            }
        }

        return exception is AggregateException aggregate && aggregate.InnerExceptions.Any(IsDatabaseUnavailable);
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);

    private static bool WantsJson(HttpContext context)
    {
        var path = context.Request.Path;
        return path.StartsWithSegments("/api") || path.StartsWithSegments("/.well-known") || path.StartsWithSegments("/health")
               || !context.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.Ordinal);
    }
}
