using System.Globalization;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Audit;
using Microsoft.AspNetCore;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The narrow fast path of the client_credentials grant (RFC 6749 section 4.4): right after OpenIddict has inferred the
/// endpoint (and the issuer, and checked transport security), before it extracts the token request, this handler answers
/// the clean success case itself and leaves every other request, and every error, untouched to the normal pipeline
/// (<see cref="SignInClientCredentials"/> and OpenIddict's handlers). It takes only: a POST of
/// application/x-www-form-urlencoded to the token endpoint with no query string and no DPoP header; the parameters
/// grant_type=client_credentials, at most one scope, and the client's credentials by exactly one method, client_secret_basic
/// (RFC 6749 section 2.3.1) or client_secret_post, nothing else (no resource, audience, claims ...); a client of the
/// <see cref="ClientCache"/> that is confidential, active, of an active department, has no key set and no requirements, holds
/// the token endpoint and client_credentials permissions, and whose secret verifies exactly as
/// <see cref="HubApplicationManager.ValidateClientSecretAsync(HubApplication, string, CancellationToken)"/> verifies it
/// (every active secret compared, constant time, expiry against the clock); scopes, if any, that OpenIddict has registered
/// in its options (not only in the scope store) and that the client is permitted, without openid or offline_access.
/// <para>What it produces is what the normal path produces (pinned by OidcProtocolTests.ClientCredentials, run with this
/// switched on and off): the RFC 9068 access token (at+jwt, signed by OpenIddict's own token handler with the credentials
/// OpenIddict uses for access tokens, see <see cref="ProtectServerOnlyTokens"/>, claims iss, aud, sub, client_id, oi_prst,
/// scope, jti, iat, exp with the client's access token lifetime), the token.issued audit event as
/// <see cref="Audit.Handlers.AuditIssuedTokens"/> writes it, and the response as OpenIddict's ApplyTokenResponse handlers
/// write it (status, Cache-Control no-store, Pragma no-cache, JSON: <see cref="TokenResponseWriter"/>, or that event itself
/// when other handlers are registered for it). Oidc:ClientCredentialsFastPath switches it off.</para>
/// </summary>
public sealed partial class ClientCredentialsFastPath(
    ClientCache clients,
    IServiceProvider services,
    IAuditLog audit,
    HubMetrics metrics,
    IOpenIddictServerDispatcher dispatcher,
    IOptions<OidcOptions> oidc,
    IOptionsMonitor<OpenIddictServerAspNetCoreOptions> aspNetCore,
    TimeProvider clock) : IOpenIddictServerHandler<ProcessRequestContext>
{
    private const string FormMediaType = "application/x-www-form-urlencoded";

    /// <summary>After the endpoint, the issuer and the transport security check; before OpenIddict extracts the token request.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .UseScopedHandler<ClientCredentialsFastPath>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ValidateTransportSecurityRequirement.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessRequestContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || !oidc.Value.ClientCredentialsFastPath
            || context.Transaction.GetHttpRequest() is not { } http
            || !IsPlainFormPost(http))
        {
            return;
        }

        var form = await http.ReadFormAsync(context.CancellationToken);
        string? grantType = null, scope = null, formId = null, formSecret = null;
        foreach (var (name, values) in form)
        {
            if (values.Count != 1 || string.IsNullOrEmpty(values[0]))
            {
                return;
            }

            switch (name)
            {
                case Parameters.GrantType: grantType = values[0]; break;
                case Parameters.Scope: scope = values[0]; break;
                case Parameters.ClientId: formId = values[0]; break;
                case Parameters.ClientSecret: formSecret = values[0]; break;
                default: return; // anything the normal path might read (resource, audience, claims, ...)
            }
        }

        if (form.Files.Count != 0 || grantType != GrantTypes.ClientCredentials)
        {
            return;
        }

        if (SecretCredentials(http, formId, formSecret, context.Options) is not { } credentials)
        {
            return;
        }

        var (clientId, secret) = credentials;

        // The request's database context only if the client has to be read (not for a cached client).
        var snapshot = await clients.FindAsync(clientId, services, context.CancellationToken);
        if (snapshot is null || Prepare(snapshot, context.Options, oidc.Value.DefaultAudience, oidc.Value.SigningAlgorithm) is not { } client)
        {
            return;
        }

        // The secret first, as the normal path does: a wrong secret costs the same for an active and an inactive client.
        if (!SecretIsValid(snapshot, secret)
            || ClientPolicies.Of(clientId, snapshot) is not { ClientActive: true, DepartmentActive: true } policy
            || ParseScopes(scope, client, context.Options) is not { } scopes)
        {
            return;
        }

        // The access token as OpenIddict's GenerateIdentityModelToken writes it for this principal (RFC 9068 section 2.2),
        // through FastJwtWriter: what OpenIddict's JsonWebTokenHandler writes for the same descriptor, without its
        // allocations. OpenIddict keeps the dates to the second (iat and exp are NumericDates, RFC 7519 section 2) and
        // rounds expires_in.
        var now = DateTimeOffset.FromUnixTimeSeconds((context.Options.TimeProvider ?? clock).GetUtcNow().ToUnixTimeSeconds());
        var expires = now + client.Lifetime;
        var claims = new KeyValuePair<string, string>[client.Claims.Length + (scopes.Length > 0 ? 2 : 1)];
        client.Claims.CopyTo(claims, 0);
        claims[client.Claims.Length] = new(Claims.JwtId, Guid.NewGuid().ToString());
        if (scopes.Length > 0)
        {
            claims[^1] = new(Claims.Scope, string.Join(' ', scopes));
        }

        var token = FastJwtWriter.Create(client.Header, client.Signing, (context.Options.Issuer ?? context.BaseUri)?.AbsoluteUri,
            expires.UtcDateTime, now.UtcDateTime, claims);

        var request = new OpenIddictRequest();
        foreach (var (name, values) in form)
        {
            request.SetParameter(name, values[0]);
        }

        // As OpenIddict's ExtractBasicAuthenticationCredentials: the request names its client whatever the method, so that
        // metrics, traces and the response handlers see the same client id as on the normal path.
        request.ClientId = clientId;

        context.Transaction.Request = request;
        context.Transaction.Response = new OpenIddictResponse
        {
            AccessToken = token,
            TokenType = TokenTypes.Bearer,
            ExpiresIn = (long)((expires - (context.Options.TimeProvider ?? clock).GetUtcNow()).TotalSeconds + .5),
        };

        await audit.WriteAsync(AuditActor.Client(clientId), new TokensIssued(false, clientId, policy.DepartmentCode, null, null,
            GrantTypes.ClientCredentials, [Parameters.AccessToken], scopes, new Dictionary<string, string>(StringComparer.Ordinal)));

        // Counted before the answer leaves, so that whoever holds the answer can rely on the count.
        metrics.FastPathToken(clientId);

        // What OpenIddict's ApplyTokenResponse handlers write for a success, without the dispatch, the MemoryStream and the
        // copy when no other handler is registered for it (checked in Build); else the dispatch.
        await TokenResponseWriter.AnswerAsync(context, client.WritesResponse, dispatcher, aspNetCore);
    }
}
