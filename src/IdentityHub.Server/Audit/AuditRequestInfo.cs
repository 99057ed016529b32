using System.Diagnostics;
using System.Text.RegularExpressions;
using IdentityHub.Server.Oidc;

namespace IdentityHub.Server.Audit;

/// <summary>
/// What every event records about the request that caused it: the client IP (after the trusted proxy's
/// X-Forwarded-For, see Hosting:TrustedProxies), the user agent, the caller's SSO session and a correlation id
/// (the caller's X-Correlation-Id when it is a plain token, else the W3C trace id). Empty outside a request.
/// </summary>
public sealed partial class AuditRequestInfo(IHttpContextAccessor accessor)
{
    public const string CorrelationHeader = "X-Correlation-Id";

    private HttpContext? Http => accessor.HttpContext;

    public string? IpAddress => Http?.Connection.RemoteIpAddress is { } ip
        ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString()
        : null;

    public string? UserAgent => AuditColumns.Cut(Http?.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null, AuditColumns.UserAgent);

    /// <summary>The sid of the person signed in with the IdentityHub cookie, if the request carries one.</summary>
    public string? SessionId => Http?.User.FindFirst(HubClaims.SessionId)?.Value;

    public string? CorrelationId
    {
        get
        {
            var header = Http?.Request.Headers[CorrelationHeader].ToString();
            if (header is { Length: > 0 } && CorrelationPattern().IsMatch(header))
            {
                return header;
            }

            return Activity.Current?.TraceId.ToHexString() ?? Http?.TraceIdentifier;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex CorrelationPattern();
}
