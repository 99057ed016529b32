using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using IdentityHub.Server.Audit.Handlers;
using Microsoft.AspNetCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// A successful token response (RFC 6749 section 5.1) written as OpenIddict's ApplyTokenResponse handlers write it for a
/// success, byte for byte: status 200 (AttachHttpResponseCode), Cache-Control no-store, Pragma no-cache and Expires in the
/// past (AttachCacheControlHeader), no WWW-Authenticate (errors only), and the response message through its own
/// <see cref="OpenIddictMessage.WriteTo(Utf8JsonWriter)"/> with ProcessJsonResponse's writer options (relaxed escaping,
/// indented unless SuppressJsonResponseIndentation), Content-Length and Content-Type application/json;charset=UTF-8. The
/// JSON goes into a per-thread buffer and is copied to the response before any await, instead of a new MemoryStream, a
/// Utf8JsonWriter over it and a stream copy per request. The token endpoint's fast paths
/// (<see cref="ClientCredentialsFastPath"/>, and through <see cref="SignInTokens"/> <see cref="AuthorizationCodeFastPath"/>
/// and <see cref="RefreshTokenFastPath"/>) answer through <see cref="AnswerAsync"/>: written here when <see cref="Applies"/>
/// (every handler registered for ApplyTokenResponse is one of those it stands for), else through OpenIddict's
/// ApplyTokenResponse dispatch.
/// </summary>
internal static class TokenResponseWriter
{
    /// <summary>The handlers of ApplyTokenResponse that this writer stands for on a success (the others act on errors only).</summary>
    private static readonly HashSet<Type> Known =
    [
        typeof(OpenIddictServerHandlers.Exchange.NormalizeErrorResponse),
        typeof(AuditRefusedTokenRequests),
        typeof(OpenIddictServerAspNetCoreHandlers.AttachHttpResponseCode<ApplyTokenResponseContext>),
        typeof(OpenIddictServerAspNetCoreHandlers.AttachCacheControlHeader<ApplyTokenResponseContext>),
        typeof(OpenIddictServerAspNetCoreHandlers.AttachWwwAuthenticateHeader<ApplyTokenResponseContext>),
        typeof(OpenIddictServerAspNetCoreHandlers.ProcessJsonResponse<ApplyTokenResponseContext>),
    ];

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;
    [ThreadStatic] private static Utf8JsonWriter? t_indentedWriter;

    /// <summary>
    /// True when the options' ApplyTokenResponse handlers are exactly the known ones (ProcessJsonResponse among them): a
    /// handler added later (ours or a new OpenIddict version's) sends the fast path back to the dispatch. Its callers keep
    /// the answer with what they derive once per client and options (GrantFastPathClients, ClientCredentialsFastPath).
    /// </summary>
    public static bool Applies(OpenIddictServerOptions options)
    {
        var json = false;
        foreach (var descriptor in options.Handlers)
        {
            if (descriptor.ContextType != typeof(ApplyTokenResponseContext))
            {
                continue;
            }

            var type = descriptor.ServiceDescriptor.ServiceType;
            if (!Known.Contains(type))
            {
                return false;
            }

            json |= type == typeof(OpenIddictServerAspNetCoreHandlers.ProcessJsonResponse<ApplyTokenResponseContext>);
        }

        return json;
    }

    /// <summary>
    /// A fast path's answer, its tokens issued, audited and counted: the transaction's successful response written here when
    /// <paramref name="direct"/> (the caller has checked <see cref="Applies"/> for its options) and the request is an
    /// ASP.NET Core one, else through OpenIddict's ApplyTokenResponse event as after a sign-in (which must handle it); then
    /// the request is handled.
    /// </summary>
    public static async ValueTask AnswerAsync(ProcessRequestContext context, bool direct, IOpenIddictServerDispatcher dispatcher,
        IOptionsMonitor<OpenIddictServerAspNetCoreOptions> aspNetCore)
    {
        var response = context.Transaction.Response ?? throw new InvalidOperationException("The token response is not set.");
        if (direct && context.Transaction.GetHttpRequest() is { } http)
        {
            await WriteAsync(http.HttpContext.Response, response, !aspNetCore.CurrentValue.SuppressJsonResponseIndentation,
                context.Logger, context.CancellationToken);
        }
        else
        {
            // The same response OpenIddict writes after a sign-in (its ApplyTokenResponse<ProcessSignInContext>).
            var notification = new ApplyTokenResponseContext(context.Transaction);
            await dispatcher.DispatchAsync(notification);
            if (!notification.IsRequestHandled)
            {
                throw new InvalidOperationException("OpenIddict did not write the token response.");
            }
        }

        context.HandleRequest();
    }

    private static async ValueTask WriteAsync(HttpResponse response, OpenIddictResponse message, bool indented, ILogger logger,
        CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(message.Error))
        {
            throw new InvalidOperationException("Only a successful token response is written here.");
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        response.Headers.Expires = "Thu, 01 Jan 1970 00:00:00 GMT";
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation(6142, "The response was successfully returned as a JSON document: {Response}.", message);
        }

        Write(response, message, indented);
        await response.BodyWriter.FlushAsync(cancellationToken);
    }

    /// <summary>The JSON into this thread's buffer, then copied to the response, all before the first await.</summary>
    private static void Write(HttpResponse response, OpenIddictResponse message, bool indented)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        ref var cached = ref indented ? ref t_indentedWriter : ref t_writer;
        var writer = cached ??= new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Indented = indented,
        });

        try
        {
            writer.Reset(buffer);
            message.WriteTo(writer);
            writer.Flush();
            response.ContentLength = buffer.WrittenCount;
            response.ContentType = "application/json;charset=UTF-8";
            response.BodyWriter.Write(buffer.WrittenSpan);
        }
        finally
        {
            writer.Reset(Stream.Null);
            if (buffer.Capacity > 16 * 1024)
            {
                // A response far larger than a token's: not kept for the thread.
                t_buffer = null;
            }
        }
    }
}
