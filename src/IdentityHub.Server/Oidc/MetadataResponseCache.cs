using System.Collections.Concurrent;
using Microsoft.Extensions.Primitives;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Serves the discovery document and the JWKS from memory. OpenIddict rebuilds both on every request
/// (dozens of handlers; the JWKS exports every key's parameters), yet they change only with the
/// configuration, read at start, and with signing key rotation (database keys), which bumps <see cref="MetadataVersion"/>. The first answer OpenIddict gives for an origin is kept, byte
/// for byte with its headers, for <see cref="TimeToLive"/>; every other request gets that copy.
/// Only plain GETs without a query string are served from the cache; everything else goes to OpenIddict.
/// A change of signing keys (<see cref="MetadataVersion"/>) makes every copy stale at once.
/// </summary>
public sealed class MetadataResponseCache(RequestDelegate next, MetadataVersion version)
{
    /// <summary>How long a copy is served before OpenIddict is asked again (a safety net: key changes bump <see cref="MetadataVersion"/>).</summary>
    public static readonly TimeSpan TimeToLive = TimeSpan.FromMinutes(5);

    /// <summary>In Development the issuer, hence the document, follows the Host header: keep a bounded number of origins.</summary>
    private const int MaxEntries = 32;

    private static readonly string[] Paths = ["/.well-known/openid-configuration", "/.well-known/jwks"];

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private sealed record Entry(KeyValuePair<string, StringValues>[] Headers, byte[] Body, DateTime ExpiresUtc, long Version);

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) || request.QueryString.HasValue || !IsMetadataPath(request.Path))
        {
            await next(context);
            return;
        }

        var key = string.Concat(request.Scheme, "://", request.Host.Value, request.PathBase.Value, request.Path.Value);
        var current = version.Value;
        if (_entries.TryGetValue(key, out var entry) && entry.ExpiresUtc > DateTime.UtcNow && entry.Version == current)
        {
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            foreach (var (name, value) in entry.Headers)
            {
                response.Headers[name] = value;
            }

            response.ContentLength = entry.Body.Length;
            await response.Body.WriteAsync(entry.Body, context.RequestAborted);
            return;
        }

        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        if (context.Response.StatusCode == StatusCodes.Status200OK && (_entries.Count < MaxEntries || _entries.ContainsKey(key)))
        {
            var headers = context.Response.Headers
                .Where(h => !string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)
                            && !string.Equals(h.Key, "Date", StringComparison.OrdinalIgnoreCase)
                            && !string.Equals(h.Key, "Set-Cookie", StringComparison.OrdinalIgnoreCase))
                .ToArray();
            _entries[key] = new Entry(headers, buffer.ToArray(), DateTime.UtcNow + TimeToLive, current);
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    private static bool IsMetadataPath(PathString path)
    {
        foreach (var candidate in Paths)
        {
            if (path.Equals(candidate, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Bumped whenever what discovery or JWKS answer changes at run time (signing keys rotated).</summary>
public sealed class MetadataVersion
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Changed() => Interlocked.Increment(ref _value);
}
