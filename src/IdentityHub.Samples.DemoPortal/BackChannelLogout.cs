using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Samples.DemoPortal;

/// <summary>
/// OpenID Connect Back-Channel Logout 1.0: IdentityHub POSTs a logout token here (form field logout_token) when
/// the person's SSO session ends, wherever it ended. The token is validated as section 2.6 requires, against
/// IdentityHub's published JWKS (the OpenID Connect handler's cached discovery document), and the session it
/// names is marked ended in <see cref="PortalSessions"/>.
/// </summary>
public static class BackChannelLogout
{
    public const string Path = "/backchannel-logout";

    private const string LogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    private static readonly JsonWebTokenHandler Handler = new();

    public static IEndpointRouteBuilder MapBackChannelLogout(this IEndpointRouteBuilder routes)
    {
        // A server-to-server POST: no cookie, no antiforgery token; the signed token is the credential.
        routes.MapPost(Path, HandleAsync).DisableAntiforgery();
        return routes;
    }

    private static async Task<IResult> HandleAsync(HttpContext http, IOptionsMonitor<OpenIdConnectOptions> oidcOptions, PortalSessions sessions,
        IMemoryCache seenTokens, ILoggerFactory loggers)
    {
        // Section 2.8: the response must not be cached.
        http.Response.Headers.CacheControl = "no-cache, no-store";
        http.Response.Headers.Pragma = "no-cache";
        var logger = loggers.CreateLogger(typeof(BackChannelLogout));
        var token = http.Request.HasFormContentType ? (await http.Request.ReadFormAsync(http.RequestAborted))["logout_token"].ToString() : "";
        if (string.IsNullOrEmpty(token))
        {
            return Refuse("The logout_token parameter is missing.");
        }

        var oidc = oidcOptions.Get(OpenIdConnectDefaults.AuthenticationScheme);
        var result = await ValidateAsync(token, oidc, http.RequestAborted);
        if (result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // IdentityHub may have rotated its signing key since the discovery document was cached.
            oidc.ConfigurationManager!.RequestRefresh();
            result = await ValidateAsync(token, oidc, http.RequestAborted);
        }

        if (!result.IsValid)
        {
            logger.LogWarning(result.Exception, "Refused a logout token");
            return Refuse("The logout token is not valid.");
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        using var payload = JsonDocument.Parse(Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload)));
        var claims = payload.RootElement;
        var sid = claims.TryGetProperty("sid", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        var sub = claims.TryGetProperty("sub", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        if (sid is null && sub is null)
        {
            return Refuse("The logout token names neither sid nor sub (section 2.6 step 3).");
        }

        if (!claims.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Object
            || !events.TryGetProperty(LogoutEvent, out var logoutEvent) || logoutEvent.ValueKind != JsonValueKind.Object)
        {
            return Refuse("The events claim lacks the back-channel logout event (section 2.6 step 4).");
        }

        if (claims.TryGetProperty("nonce", out _))
        {
            return Refuse("A logout token must not contain a nonce (section 2.6 step 5).");
        }

        if (!claims.TryGetProperty("jti", out var jti) || jti.ValueKind != JsonValueKind.String
            || seenTokens.TryGetValue("logout-jti:" + jti.GetString(), out _))
        {
            return Refuse("The logout token has no jti, or was received before (section 2.6 step 6).");
        }

        seenTokens.Set("logout-jti:" + jti.GetString(), true, jwt.ValidTo.AddMinutes(5));
        var ended = sessions.End(sid, sub);
        logger.LogInformation("Back-channel logout: sid {Sid}, sub {Sub}, {Count} session(s) ended", sid, sub, ended);
        return Results.Ok();
    }

    /// <summary>Section 2.6 step 2: signature (JWKS), iss, aud, iat and exp, as for an ID token; typ logout+jwt (section 2.4).</summary>
    private static async Task<TokenValidationResult> ValidateAsync(string token, OpenIdConnectOptions oidc, CancellationToken cancellationToken)
    {
        var configuration = await oidc.ConfigurationManager!.GetConfigurationAsync(cancellationToken);
        return await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = configuration.Issuer,
            ValidAudience = oidc.ClientId,
            IssuerSigningKeys = configuration.SigningKeys,
            ValidTypes = ["logout+jwt"],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
        });
    }

    /// <summary>Section 2.8: 400 with an OAuth-style error body.</summary>
    private static IResult Refuse(string description) =>
        Results.BadRequest(new Dictionary<string, string> { ["error"] = "invalid_request", ["error_description"] = description });
}
