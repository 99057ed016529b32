using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Audit;
using Microsoft.AspNetCore;
using IdentityHub.Server.Data;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
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
/// <see cref="Audit.Handlers.AuditIssuedTokens"/> writes it, and the response through OpenIddict's own ApplyTokenResponse
/// event (status, Cache-Control no-store, Pragma no-cache, JSON). Oidc:ClientCredentialsFastPath switches it off.</para>
/// </summary>
public sealed class ClientCredentialsFastPath(
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
        if (snapshot is null || Prepare(snapshot, context.Options, oidc.Value.DefaultAudience) is not { } client)
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

        if (client.WritesResponse)
        {
            // What OpenIddict's ApplyTokenResponse handlers write for a success (checked in Build: no other handler is
            // registered for it), without the dispatch, the MemoryStream and the copy.
            await TokenResponseWriter.WriteAsync(http.HttpContext.Response, context.Transaction.Response,
                !aspNetCore.CurrentValue.SuppressJsonResponseIndentation, context.Logger, context.CancellationToken);
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

    /// <summary>
    /// The key OpenIddict signs access tokens and ID tokens with: the first asymmetric signing credentials (its
    /// AttachSecurityCredentials, with <see cref="ProtectServerOnlyTokens"/> keeping symmetric keys to server-only tokens),
    /// the one published in JWKS. Shared by both fast paths.
    /// </summary>
    internal static SigningCredentials? PublicSigningCredentials(OpenIddictServerOptions options) =>
        options.SigningCredentials.Find(c => c.Key is AsymmetricSecurityKey);

    /// <summary>
    /// A token as OpenIddict's GenerateIdentityModelToken writes it: its token handler over a descriptor of the subject's
    /// claims (what AttachTokenSubject keeps), the metadata claims (AttachTokenMetadata: aud, scope, jti, amr, oi_cl_dstn),
    /// iss, iat and exp, the JWS typ, signed and, for server-only tokens, encrypted. Shared by both fast paths.
    /// </summary>
    internal static string CreateJwt(OpenIddictServerOptions options, string type, System.Security.Claims.ClaimsIdentity? subject,
        IDictionary<string, object> claims, string? issuer, DateTimeOffset? issuedAt, DateTimeOffset? expires, SigningCredentials signing,
        EncryptingCredentials? encryption = null) =>
        options.JsonWebTokenHandler.CreateToken(new SecurityTokenDescriptor
        {
            Subject = subject,
            Claims = claims,
            Issuer = issuer,
            IssuedAt = issuedAt?.UtcDateTime,
            Expires = expires?.UtcDateTime,
            SigningCredentials = signing,
            EncryptingCredentials = encryption,
            TokenType = type,
        });

    /// <summary>
    /// The client's id and secret when it authenticates by exactly one of client_secret_basic and client_secret_post (RFC 6749
    /// section 2.3.1) with a method the server accepts (OpenIddict's ValidateClientAuthenticationMethod); null otherwise,
    /// for the normal path to answer. Shared by both fast paths.
    /// </summary>
    internal static (string ClientId, string Secret)? SecretCredentials(HttpRequest http, string? formId, string? formSecret,
        OpenIddictServerOptions options)
    {
        string clientId, secret, method;
        var authorization = http.Headers.Authorization;
        if (authorization.Count == 0)
        {
            if (formId is null || formSecret is null)
            {
                return null;
            }

            (clientId, secret, method) = (formId, formSecret, ClientAuthenticationMethods.ClientSecretPost);
        }
        else if (authorization.Count != 1 || formId is not null || formSecret is not null
                 || ParseBasic(authorization[0]) is not { } basic)
        {
            return null;
        }
        else
        {
            (clientId, secret) = basic;
            method = ClientAuthenticationMethods.ClientSecretBasic;
        }

        return options.ClientAuthenticationMethods.Contains(method) ? (clientId, secret) : null;
    }

    /// <summary>
    /// What both fast paths take: a POST of application/x-www-form-urlencoded (UTF-8 at most) with no query string, no DPoP
    /// proof and no client certificate; anything else is left to the normal path.
    /// </summary>
    internal static bool IsPlainFormPost(HttpRequest http) =>
        HttpMethods.IsPost(http.Method) && IsUnbound(http) && IsPlainForm(http.ContentType);

    /// <summary>No query string, no DPoP proof (RFC 9449), no client certificate (RFC 8705): nothing a fast path would have to weigh.</summary>
    internal static bool IsUnbound(HttpRequest http) =>
        !http.QueryString.HasValue && !http.Headers.ContainsKey("DPoP") && http.HttpContext.Connection.ClientCertificate is null;

    private static bool IsPlainForm(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && string.Equals(media.MediaType.Value, FormMediaType, StringComparison.OrdinalIgnoreCase)
        && media.Parameters.All(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase)
                                     && p.Value.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    /// <summary>RFC 6749 section 2.3.1 / RFC 7617: "Basic " base64(form-url-encoded id ":" form-url-encoded secret); null when in doubt.</summary>
    internal static (string ClientId, string Secret)? ParseBasic(string? header)
    {
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, true).GetString(Convert.FromBase64String(header[6..].Trim()));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return null;
        }

        var colon = decoded.IndexOf(':');
        // '+' decodes differently under form-url-decoding and URI unescaping, and non-ASCII text under the decoders'
        // encodings: both left to the normal path.
        if (colon <= 0 || colon == decoded.Length - 1 || decoded.Contains('+') || !Ascii.IsValid(decoded))
        {
            return null;
        }

        string id, secret;
        try
        {
            id = Uri.UnescapeDataString(decoded[..colon]);
            secret = Uri.UnescapeDataString(decoded[(colon + 1)..]);
        }
        catch (UriFormatException)
        {
            return null;
        }

        return id.Length == 0 || secret.Length == 0 ? null : (id, secret);
    }

    /// <summary>
    /// As <see cref="HubApplicationManager.ValidateClientSecretAsync(HubApplication, string, CancellationToken)"/>: every
    /// active secret of the entry compared (no early exit), expiry against the clock; a start-up client's own column by
    /// <see cref="SecretHasher.Verify"/>.
    /// </summary>
    private bool SecretIsValid(ClientSnapshot snapshot, string secret) => SecretIsValid(snapshot, secret, clock);

    /// <summary>The secret check itself (also the introspection fast path's).</summary>
    internal static bool SecretIsValid(ClientSnapshot snapshot, string secret, TimeProvider clock)
    {
        var stored = snapshot.Application.ClientSecret;
        if (stored != SecretHasher.TableMarker)
        {
            return stored is not null && SecretHasher.IsOurs(stored) && SecretHasher.Verify(secret, stored);
        }

        return CachedSecret.AnyMatches(snapshot.Secrets, secret, clock.GetUtcNow().UtcDateTime);
    }

    private static string[]? ParseScopes(string? scope, FastClient client, OpenIddictServerOptions options)
    {
        if (scope is null)
        {
            return [];
        }

        var scopes = scope.Split(' ');
        for (var i = 0; i < scopes.Length; i++)
        {
            var s = scopes[i];
            if (s.Length == 0 || s is Scopes.OpenId or Scopes.OfflineAccess || !options.Scopes.Contains(s)
                || !client.Scopes.Contains(s) || Array.IndexOf(scopes, s, 0, i) >= 0)
            {
                return null;
            }
        }

        return scopes;
    }

    /// <summary>What the fast path needs of a client, derived once per cache entry; null when the client is not one it takes.</summary>
    private static FastClient? Prepare(ClientSnapshot snapshot, OpenIddictServerOptions options, string audience)
    {
        // Derived under the options it was built with: the signing key ring replaces OpenIddict's options when a key is
        // created, activated or retired, and the entry is then derived again under the new ones.
        switch (snapshot.FastPath)
        {
            case FastClient known when known.Options == options:
                return known;
            case Unsuitable unsuitable when unsuitable.Options == options:
                return null;
        }

        var client = Build(snapshot.Application, options, audience);
        snapshot.FastPath = (object?)client ?? new Unsuitable(options);
        return client;
    }

    private static FastClient? Build(HubApplication application, OpenIddictServerOptions options, string audience)
    {
        // Anything under which the normal path would issue something else (a reference or encrypted token, a
        // certificate-bound one) or decide differently (degraded mode, the grant type not enabled): the normal path.
        if (options.IgnoreEndpointPermissions || options.IgnoreGrantTypePermissions || options.IgnoreScopePermissions
            || options.EnableDegradedMode || options.UseReferenceAccessTokens || !options.DisableAccessTokenEncryption
            || options.UseClientCertificateBoundAccessTokens || !options.GrantTypes.Contains(GrantTypes.ClientCredentials)
            || application.ClientType != ClientTypes.Confidential || application.ClientId is not { Length: > 0 } clientId
            || !string.IsNullOrEmpty(application.JsonWebKeySet) || !IsEmptyArray(application.Requirements))
        {
            return null;
        }

        try
        {
            var permissions = string.IsNullOrEmpty(application.Permissions) ? [] : JsonSerializer.Deserialize<string[]>(application.Permissions) ?? [];
            if (!permissions.Contains(Permissions.Endpoints.Token) || !permissions.Contains(Permissions.GrantTypes.ClientCredentials))
            {
                return null;
            }

            var lifetime = options.AccessTokenLifetime;
            if (!string.IsNullOrEmpty(application.Settings)
                && JsonSerializer.Deserialize<Dictionary<string, string>>(application.Settings) is { } settings
                && settings.TryGetValue(Settings.TokenLifetimes.AccessToken, out var value))
            {
                if (!TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var parsed))
                {
                    return null;
                }

                lifetime = parsed;
            }

            if (lifetime is not { } positive || positive <= TimeSpan.Zero)
            {
                return null;
            }

            var scopes = permissions.Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
                .Select(p => p[Permissions.Prefixes.Scope.Length..]).ToFrozenSet(StringComparer.Ordinal);
            // The public claims of the principal SignInClientCredentials signs in (sub, and OpenIddict's client_id,
            // presenters and default audience); iss, iat, exp, jti and scope per request.
            var signing = options.SigningCredentials.Find(c => c.Key is AsymmetricSecurityKey);
            if (signing is null)
            {
                return null;
            }

            var claims = new KeyValuePair<string, string>[]
            {
                new(Claims.Subject, clientId),
                new(Claims.Audience, audience),
                new(Claims.ClientId, clientId),
                new(Claims.Private.Presenter, clientId),
            };
            return new FastClient(options, positive, scopes, claims, signing,
                FastJwtWriter.Header(options.JsonWebTokenHandler, signing, JsonWebTokenTypes.AccessToken), TokenResponseWriter.Applies(options));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsEmptyArray(string? json) => string.IsNullOrEmpty(json) || json.Trim() == "[]";

    private sealed record FastClient(OpenIddictServerOptions Options, TimeSpan Lifetime, FrozenSet<string> Scopes,
        KeyValuePair<string, string>[] Claims, SigningCredentials Signing, byte[] Header, bool WritesResponse);

    private sealed record Unsuitable(OpenIddictServerOptions Options);
}
