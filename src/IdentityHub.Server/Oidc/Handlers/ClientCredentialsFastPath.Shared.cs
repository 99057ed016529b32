using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore;
using IdentityHub.Server.Data;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>What the token endpoint's fast paths share: the request shape they take, the client's secret, the signing key and the JWT.</summary>
public sealed partial class ClientCredentialsFastPath
{
    /// <summary>
    /// The keys OpenIddict signs the client's access tokens and ID tokens with (<see cref="ProtectServerOnlyTokens"/>: of
    /// the algorithms the client registered, else the server's default), published in JWKS; null when the client registered
    /// an algorithm without a key (the normal path refuses), or an ID token key whose hash OpenIddict would not know.
    /// Shared by the code and refresh grants' fast paths.
    /// </summary>
    internal static (SigningCredentials Access, SigningCredentials Identity)? PublicSigningCredentials(OpenIddictServerOptions options,
        string defaultAlgorithm, ClientSnapshot snapshot) =>
        TokenSigning.For(options, defaultAlgorithm, snapshot.Signing.AccessToken) is { } access
        && TokenSigning.For(options, defaultAlgorithm, snapshot.Signing.IdToken) is { } identity
        && SignInTokens.TokenHash(identity) is not null
            ? (access, identity)
            : null;

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

    /// <summary>
    /// The values of the form's parameters named in <paramref name="names"/> (in that order; null where absent), when each
    /// parameter of the form is one of them, given once and not empty, and the form has no file; null otherwise (a
    /// parameter the normal path might read, or read differently): the normal path's. Shared by the code and refresh fast paths.
    /// </summary>
    internal static string?[]? PlainParameters(IFormCollection form, ReadOnlySpan<string> names)
    {
        if (form.Files.Count != 0)
        {
            return null;
        }

        var found = new string?[names.Length];
        foreach (var (name, values) in form)
        {
            var index = names.IndexOf(name);
            if (index < 0 || values.Count != 1 || string.IsNullOrEmpty(values[0]))
            {
                return null;
            }

            found[index] = values[0];
        }

        return found;
    }

    /// <summary>
    /// Runs a grant's fast path (<paramref name="answer"/>: true when it answered) with the request as OpenIddict's
    /// ExtractTokenRequest reads it, naming its client whatever the method (as ExtractBasicAuthenticationCredentials does),
    /// so that the token validation, the audit, metrics and traces see what they see on the normal path; when it declines,
    /// the request and what its token validation left are taken back, so that the normal path starts from the request as
    /// it came. Shared by the code and refresh fast paths.
    /// </summary>
    internal static async Task AnswerOrDeclineAsync(OpenIddictServerEvents.ProcessRequestContext context, IFormCollection form, string clientId, string? secret,
        Func<OpenIddictRequest, Task<bool>> answer)
    {
        var request = new OpenIddictRequest();
        foreach (var (name, values) in form)
        {
            request.SetParameter(name, values[0]);
        }

        request.ClientId = clientId;
        request.ClientSecret = secret;

        context.Transaction.Request = request;
        var handled = false;
        try
        {
            handled = await answer(request);
        }
        finally
        {
            if (!handled)
            {
                context.Transaction.Request = null;
                context.Transaction.Properties.Remove(typeof(OpenIddictServerEvents.ProcessAuthenticationContext).FullName!);
            }
        }
    }

    private static bool IsPlainForm(string? contentType) =>
        // The usual header exactly (what clients send), without parsing it; any other form of it parsed.
        string.Equals(contentType, FormMediaType, StringComparison.OrdinalIgnoreCase)
        || MediaTypeHeaderValue.TryParse(contentType, out var media)
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
    private static FastClient? Prepare(ClientSnapshot snapshot, OpenIddictServerOptions options, string audience, string defaultAlgorithm)
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

        var client = Build(snapshot, options, audience, defaultAlgorithm);
        snapshot.FastPath = (object?)client ?? new Unsuitable(options);
        return client;
    }

    private static FastClient? Build(ClientSnapshot snapshot, OpenIddictServerOptions options, string audience, string defaultAlgorithm)
    {
        var application = snapshot.Application;
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
            // The key of the algorithm the client registered for its access tokens, else the default one's; none: the normal
            // path, which refuses (ProtectServerOnlyTokens).
            var signing = TokenSigning.For(options, defaultAlgorithm, snapshot.Signing.AccessToken);
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
