using IdentityHub.Server.Audit;
using IdentityHub.Server.Oidc.Revocation;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The narrow fast path of the userinfo endpoint (OIDC Core section 5.3): right after OpenIddict has inferred the endpoint
/// (and the issuer, and checked transport security), before it extracts the request, this handler answers the plain, common
/// success itself and leaves every other request, and every error, untouched to OpenIddict's pipeline and
/// <see cref="UserInfoEndpoint.HandleAsync"/> (which answers the 401 invalid_token with its WWW-Authenticate, RFC 6750
/// section 3.1). It takes only:
/// <list type="bullet">
/// <item>a GET with no query string and no body, or a POST of application/x-www-form-urlencoded with no query string and an
/// empty form (<see cref="ClientCredentialsFastPath.IsPlainFormPost"/>); no DPoP header, no client certificate;</item>
/// <item>the access token in one Authorization header, "Bearer" scheme (RFC 6750 section 2.1; OpenIddict's
/// ExtractAccessTokenFromAuthorizationHeader), never in the form or the query;</item>
/// <item>a token <see cref="FastAccessTokens.ReadAsync"/> accepts (a JWS at+jwt signed by a server key, this issuer,
/// unexpired, no cnf or token entry, at most one presenter), not revoked by jti, authorization, session or client
/// (<see cref="RevokedAccessTokens"/>, the check of <see cref="RejectRevokedAccessTokens"/>: ended sessions and disabled
/// clients included);</item>
/// <item>an active client of an active department and an existing account for the sub, then the claims, the
/// claims.released event (awaited: durable before the answer) and the response: all three by
/// <see cref="UserInfoEndpoint.ReleaseAsync"/> and <see cref="UserInfoEndpoint.WriteAsync"/>, the normal path's own code.
/// An inactive client or an unknown account is left to the normal path, which refuses it; so is a token without the
/// openid scope or a session id (<see cref="UserInfoEndpoint.Refusal"/>).</item>
/// </list>
/// Pinned against the normal path by the OidcProtocolTests UserInfo_FastPath_* tests (the same answers; each check above
/// deleted makes one of them fail) and UserInfo_ServiceTokenNamedAfterAnAccount_Refused_TokenWithoutOpenid_InsufficientScope.
/// Oidc:UserinfoFastPath switches it off; identityhub.userinfo.fast_path counts its answers.
/// </summary>
public sealed class UserInfoFastPath(
    ClaimsFactory claims,
    ClientPolicies policies,
    ClaimsPersonCache persons,
    IAuditLog audit,
    RevokedAccessTokens revoked,
    HubMetrics metrics,
    IOptions<OidcOptions> oidc,
    TimeProvider clock) : IOpenIddictServerHandler<ProcessRequestContext>
{
    private static Prepared? _prepared;

    /// <summary>
    /// After the endpoint, the issuer and the transport security check; before OpenIddict extracts the request. Filtered to
    /// the userinfo endpoint, so that other endpoints' requests do not resolve this scoped handler and its services.
    /// </summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireUserInfoRequest>()
            .UseScopedHandler<UserInfoFastPath>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ValidateTransportSecurityRequirement.Descriptor.Order + 700)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessRequestContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.UserInfo || !oidc.Value.UserinfoFastPath
            || context.Transaction.GetHttpRequest() is not { } http
            || BearerToken(http) is not { } token
            || (context.Options.Issuer ?? context.BaseUri) is not { IsAbsoluteUri: true } issuer
            || Parameters(context.Options, issuer.AbsoluteUri) is not { } parameters)
        {
            return;
        }

        if (HttpMethods.IsPost(http.Method))
        {
            // RFC 6750 section 2.2 (access_token in the body) or any other parameter: the normal path.
            var form = await http.ReadFormAsync(context.CancellationToken);
            if (form.Count != 0 || form.Files.Count != 0)
            {
                return;
            }
        }

        // One presenter at most: the normal path takes the first of several, and the fast path leaves that choice to it.
        if (await FastAccessTokens.ReadAsync(token, context.Options.JsonWebTokenHandler, parameters, context.Options.TimeProvider ?? clock) is not { } active
            || active.Presenters.Length > 1
            || revoked.Refusal(active.TokenId, active.IssuedAt, active.AuthorizationId, active.SessionId, active.Presenters, active.ClientId) is not null)
        {
            return;
        }

        // What UserInfoEndpoint.HandleAsync reads from OpenIddict's principal (MapInternalClaims: presenters, else client_id).
        var bearer = new UserInfoBearer(active.Subject, active.Presenters.Length == 1 ? active.Presenters[0] : active.ClientId, active.Scopes,
            active.ClaimsRequest, active.SessionId);
        if (UserInfoEndpoint.Refusal(bearer) is not null
            || await UserInfoEndpoint.ReleaseAsync(bearer, claims, policies, persons, audit, http.HttpContext.RequestServices, context.CancellationToken)
            is not { } answer)
        {
            return;
        }

        metrics.FastPathUserInfo(bearer.ClientId!);
        await UserInfoEndpoint.WriteAsync(http.HttpContext, answer);
        context.HandleRequest();
    }

    /// <summary>
    /// The bearer token of a request the fast path may take (see the class summary): one Authorization header "Bearer
    /// token" (the scheme case-insensitive, as OpenIddict reads it), no query string, no DPoP proof, no client certificate,
    /// and either a GET without a body or a plain form POST; else null.
    /// </summary>
    private static string? BearerToken(HttpRequest http)
    {
        var plain = HttpMethods.IsGet(http.Method)
            ? ClientCredentialsFastPath.IsUnbound(http) && http.ContentLength is null or 0 && !http.Headers.ContainsKey(HeaderNames.TransferEncoding)
            : ClientCredentialsFastPath.IsPlainFormPost(http);
        if (!plain || http.Headers.Authorization is not { Count: 1 } values || values[0] is not { Length: > 7 } header
            || !header.StartsWith(Schemes.Bearer + " ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header[7..];
        return token.AsSpan().ContainsAny(' ', '\t') ? null : token;
    }

    /// <summary>The validation parameters for access tokens of this issuer, derived once per OpenIddict options instance.</summary>
    private static TokenValidationParameters? Parameters(OpenIddictServerOptions options, string issuer)
    {
        if (Volatile.Read(ref _prepared) is { } known && known.Options == options && known.Issuer == issuer)
        {
            return known.Parameters;
        }

        var parameters = FastAccessTokens.Parameters(options, issuer);
        Volatile.Write(ref _prepared, new Prepared(options, issuer, parameters));
        return parameters;
    }

    private sealed record Prepared(OpenIddictServerOptions Options, string Issuer, TokenValidationParameters? Parameters);
}
