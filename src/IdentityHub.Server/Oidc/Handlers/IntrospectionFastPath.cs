using System.Collections.Immutable;
using System.Text.Json;
using IdentityHub.Server.Data;
using Microsoft.AspNetCore;
using IdentityHub.Server.Oidc.Revocation;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The narrow fast path of token introspection (RFC 7662): right after OpenIddict has inferred the endpoint (and the issuer,
/// and checked transport security), before it extracts the request, this handler answers the one clean case, a client
/// introspecting an active access token that was issued to it, and leaves every other request untouched to OpenIddict's
/// pipeline: every error, every inactive, expired, revoked or unreadable token (RFC 7662 section 2.2 "active": false is
/// the normal path's answer), and every case whose answer would carry more (the caller among the token's audiences, which
/// OpenIddict's AttachApplicationClaims answers with the token's claims). It takes only:
/// <list type="bullet">
/// <item>a POST of application/x-www-form-urlencoded with no query string and no client certificate; the parameters token,
/// token_type_hint (only access_token) and the client's credentials by exactly one method, client_secret_basic or
/// client_secret_post (RFC 6749 section 2.3.1), nothing else;</item>
/// <item>a client of the <see cref="ClientCache"/> that is confidential, has no key set (no private_key_jwt), holds the
/// introspection endpoint permission, and whose secret verifies as
/// <see cref="HubApplicationManager.ValidateClientSecretAsync(HubApplication, string, CancellationToken)"/> verifies it (the
/// methods the server accepts; OpenIddict's ValidateClientType, ValidateClientSecret, ValidateEndpointPermissions);</item>
/// <item>a JWS (not a JWE) whose header type is at+jwt or application/at+jwt (RFC 9068 section 2.1; OpenIddict's
/// ValidateTokenType: an access token), signed by one of the server's asymmetric signing keys, issued by this issuer
/// (the token handler and the validation parameters OpenIddict's ValidateIdentityModelToken uses for access tokens,
/// narrowed), with exp in the future and iat (OpenIddict's ValidateExpirationDate, which the fast path applies whatever
/// Oidc settings say), without nbf, cnf (a sender-constrained token: token_type differs) or a token entry (oi_tkn_id: the
/// normal path reads its entry) (<see cref="FastAccessTokens"/>, shared with the userinfo fast path), not revoked (<see cref="RevokedAccessTokens"/>, the check of
/// <see cref="RejectRevokedAccessTokens"/>), whose presenters (oi_prst) include the caller and whose audiences do not
/// (OpenIddict's ValidateAuthorizedParty then lets it through and AttachApplicationClaims adds nothing).</item>
/// </list>
/// The answer is built as OpenIddict's HandleIntrospectionRequest and AttachMetadataClaims build it (active, iss, sub, jti,
/// token_type Bearer, token_usage access_token, client_id, iat, nbf, exp, aud) and written by OpenIddict's own
/// ApplyIntrospectionResponse event (status, Cache-Control no-store, Pragma no-cache, JSON): pinned against the normal path
/// by OidcProtocolTests.Introspection_FastPath_AnswersAsTheNormalPath_ErrorsAndRevokedTokensByTheNormalPath.
/// Oidc:IntrospectionFastPath switches it off.
/// </summary>
public sealed class IntrospectionFastPath(
    ClientCache clients,
    IdentityHubDbContext db,
    RevokedAccessTokens revoked,
    HubMetrics metrics,
    IOpenIddictServerDispatcher dispatcher,
    IOptions<OidcOptions> oidc,
    TimeProvider clock) : IOpenIddictServerHandler<ProcessRequestContext>
{
    /// <summary>After the endpoint, the issuer and the transport security check; before OpenIddict extracts the request.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .UseScopedHandler<IntrospectionFastPath>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ValidateTransportSecurityRequirement.Descriptor.Order + 600)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessRequestContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Introspection || !oidc.Value.IntrospectionFastPath
            || context.Transaction.GetHttpRequest() is not { } http
            || !ClientCredentialsFastPath.IsPlainFormPost(http)
            || (context.Options.Issuer ?? context.BaseUri) is not { IsAbsoluteUri: true } issuer)
        {
            return;
        }

        var form = await http.ReadFormAsync(context.CancellationToken);
        string? token = null, hint = null, formId = null, formSecret = null;
        foreach (var (name, values) in form)
        {
            if (values.Count != 1 || string.IsNullOrEmpty(values[0]))
            {
                return;
            }

            switch (name)
            {
                case Parameters.Token: token = values[0]; break;
                case Parameters.TokenTypeHint: hint = values[0]; break;
                case Parameters.ClientId: formId = values[0]; break;
                case Parameters.ClientSecret: formSecret = values[0]; break;
                default: return;
            }
        }

        if (form.Files.Count != 0 || token is null || hint is not (null or TokenTypeHints.AccessToken))
        {
            return;
        }

        if (ClientCredentialsFastPath.SecretCredentials(http, formId, formSecret, context.Options) is not { } credentials)
        {
            return;
        }

        var (clientId, secret) = credentials;

        var snapshot = await clients.FindAsync(clientId, db, context.CancellationToken);
        if (snapshot is null || Prepare(snapshot, context.Options, issuer.AbsoluteUri) is not { } parameters
            || !ClientCredentialsFastPath.SecretIsValid(snapshot, secret, clock))
        {
            return;
        }

        // One presenter only: which client_id the answer names for several is left to OpenIddict's rule (normal path).
        if (await ReadAsync(token, context.Options.JsonWebTokenHandler, parameters, clientId, context.Options.TimeProvider ?? clock) is not { } active
            || active.Presenters.Length > 1
            || revoked.Refusal(active.TokenId, active.IssuedAt, active.AuthorizationId, active.SessionId, active.Presenters, active.ClientId) is not null)
        {
            return;
        }

        var request = new OpenIddictRequest();
        foreach (var (name, values) in form)
        {
            request.SetParameter(name, values[0]);
        }

        // As OpenIddict's ExtractBasicAuthenticationCredentials: the request names its client whatever the method.
        request.ClientId = clientId;
        context.Transaction.Request = request;

        // As OpenIddict's HandleIntrospectionRequest with what its AttachMetadataClaims attaches (no username or scope: those
        // come from AttachApplicationClaims, for a caller among the audiences only).
        var response = new OpenIddictResponse
        {
            [Claims.Active] = true,
            [Claims.Issuer] = issuer.AbsoluteUri,
            [Claims.Username] = (string?)null,
            [Claims.Subject] = active.Subject,
            [Claims.Scope] = string.Empty,
            [Claims.JwtId] = active.TokenId,
            [Claims.TokenType] = TokenTypes.Bearer,
            [Claims.TokenUsage] = TokenTypeHints.AccessToken,
            [Claims.ClientId] = active.ClientId ?? active.Presenters[0],
        };
        response[Claims.IssuedAt] = active.IssuedAt;
        response[Claims.NotBefore] = active.IssuedAt;
        response[Claims.ExpiresAt] = active.ExpiresAt;
        switch (active.Audiences.Length)
        {
            case 0: break;
            case 1: response[Claims.Audience] = active.Audiences[0]; break;
            default: response[Claims.Audience] = ImmutableArray.Create<string?>(active.Audiences); break;
        }

        context.Transaction.Response = response;
        metrics.FastPathIntrospection(clientId);

        var notification = new ApplyIntrospectionResponseContext(context.Transaction);
        await dispatcher.DispatchAsync(notification);
        if (!notification.IsRequestHandled)
        {
            throw new InvalidOperationException("OpenIddict did not write the introspection response.");
        }

        context.HandleRequest();
    }

    /// <summary>The token's values when it is an access token the fast path may answer for this caller; else null.</summary>
    private static async Task<ActiveAccessToken?> ReadAsync(string token, JsonWebTokenHandler handler, TokenValidationParameters parameters,
        string caller, TimeProvider clock) =>
        await FastAccessTokens.ReadAsync(token, handler, parameters, clock) is { } active
        && active.Presenters.Contains(caller, StringComparer.Ordinal) && !active.Audiences.Contains(caller, StringComparer.Ordinal)
            ? active
            : null;

    /// <summary>The validation parameters for this client's introspections, derived once per cache entry; null when the client is not one the fast path takes.</summary>
    private static TokenValidationParameters? Prepare(ClientSnapshot snapshot, OpenIddictServerOptions options, string issuer)
    {
        switch (snapshot.IntrospectionFastPath)
        {
            case Suitable known when known.Options == options && known.Issuer == issuer:
                return known.Parameters;
            case Unsuitable unsuitable when unsuitable.Options == options:
                return null;
        }

        var parameters = Build(snapshot.Application, options, issuer);
        snapshot.IntrospectionFastPath = parameters is null ? new Unsuitable(options) : new Suitable(options, issuer, parameters);
        return parameters;
    }

    private static TokenValidationParameters? Build(HubApplication application, OpenIddictServerOptions options, string issuer)
    {
        // Anything under which the normal path would decide differently (permissions ignored, and FastAccessTokens.Parameters'
        // own conditions): the normal path.
        if (options.IgnoreEndpointPermissions
            || application.ClientType != ClientTypes.Confidential || application.ClientId is not { Length: > 0 }
            || !string.IsNullOrEmpty(application.JsonWebKeySet))
        {
            return null;
        }

        try
        {
            var permissions = string.IsNullOrEmpty(application.Permissions) ? [] : JsonSerializer.Deserialize<string[]>(application.Permissions) ?? [];
            if (!permissions.Contains(Permissions.Endpoints.Introspection))
            {
                return null;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return FastAccessTokens.Parameters(options, issuer);
    }

    private sealed record Suitable(OpenIddictServerOptions Options, string Issuer, TokenValidationParameters Parameters);

    private sealed record Unsuitable(OpenIddictServerOptions Options);
}
