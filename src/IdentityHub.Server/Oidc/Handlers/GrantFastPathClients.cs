using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Audit.Handlers;
using IdentityHub.Server.Oidc.RefreshTokens;
using IdentityHub.Server.Data;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>Which clients and server options the fast paths of the code and refresh grants take (<see cref="AuthorizationCodeFastPath"/>, <see cref="RefreshTokenFastPath"/>).</summary>
internal static class GrantFastPathClients
{
    /// <summary>
    /// Whether the client and the server's options are ones the fast paths take (memoised per cache entry and options
    /// instance), and for which grant: anything under which the normal path would decide otherwise (degraded mode, no token
    /// or authorization storage, reference refresh tokens, permissions ignored) or a client of another kind (a key set,
    /// requirements other than PKCE, no token endpoint permission) is left to the normal path; a grant the options do not
    /// enable or the client is not permitted is left to it too (<see cref="Derived.CodeGrant"/>, <see cref="Derived.RefreshGrant"/>).
    /// </summary>
    internal static Derived? Suits(ClientSnapshot snapshot, OpenIddictServerOptions options)
    {
        switch (snapshot.GrantFastPath)
        {
            case Derived known when known.Options == options:
                return known;
            case Unsuitable unsuitable when unsuitable.Options == options:
                return null;
        }

        var derived = Evaluate(snapshot.Application, options);
        snapshot.GrantFastPath = (object?)derived ?? new Unsuitable(options);
        return derived;
    }

    private static Derived? Evaluate(HubApplication application, OpenIddictServerOptions options)
    {
        // What the fast path issues is what OpenIddict's sign-in issues under this server's options: rolling refresh tokens
        // with sliding expiration, self-contained tokens, access tokens signed and not encrypted, nothing bound to a
        // certificate. Any other option (a changed configuration): the normal path.
        if (options.IgnoreEndpointPermissions || options.IgnoreGrantTypePermissions || options.EnableDegradedMode
            || options.DisableTokenStorage || options.DisableAuthorizationStorage || options.UseReferenceRefreshTokens
            || options.UseReferenceAccessTokens || !options.DisableAccessTokenEncryption || options.DisableRollingRefreshTokens
            || options.DisableSlidingRefreshTokenExpiration || options.UseClientCertificateBoundAccessTokens
            || options.UseClientCertificateBoundRefreshTokens
            || application.ClientType is not (ClientTypes.Confidential or ClientTypes.Public)
            || application.ClientId is not { Length: > 0 } || !string.IsNullOrEmpty(application.JsonWebKeySet))
        {
            return null;
        }

        try
        {
            var requirements = string.IsNullOrEmpty(application.Requirements) ? [] : JsonSerializer.Deserialize<string[]>(application.Requirements) ?? [];
            if (requirements.Any(r => r != Requirements.Features.ProofKeyForCodeExchange))
            {
                return null;
            }

            var permissions = string.IsNullOrEmpty(application.Permissions) ? [] : JsonSerializer.Deserialize<string[]>(application.Permissions) ?? [];
            if (!permissions.Contains(Permissions.Endpoints.Token))
            {
                return null;
            }

            // The client's own token lifetimes, read as OpenIddict's Prepare*TokenPrincipal handlers read them (a value that
            // does not parse is ignored there too).
            var settings = string.IsNullOrEmpty(application.Settings)
                ? new Dictionary<string, string>()
                : JsonSerializer.Deserialize<Dictionary<string, string>>(application.Settings) ?? [];
            return new Derived(options, application.ClientType == ClientTypes.Public,
                options.GrantTypes.Contains(GrantTypes.AuthorizationCode) && permissions.Contains(Permissions.GrantTypes.AuthorizationCode),
                options.GrantTypes.Contains(GrantTypes.RefreshToken) && permissions.Contains(Permissions.GrantTypes.RefreshToken),
                Lifetime(settings, Settings.TokenLifetimes.AccessToken),
                Lifetime(settings, Settings.TokenLifetimes.RefreshToken), Lifetime(settings, Settings.TokenLifetimes.IdentityToken),
                TokenResponseWriter.Applies(options));
        }
        catch (JsonException)
        {
            return null;
        }

        static TimeSpan? Lifetime(Dictionary<string, string> settings, string name) =>
            settings.TryGetValue(name, out var value) && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
    }

    /// <summary>
    /// What the fast paths derive of a client they take: whether it is a public client (RFC 6749 section 2.1: no secret),
    /// which of the two grants the options enable and the client is permitted (OpenIddict's ValidateGrantTypePermissions),
    /// its own token lifetimes, if any, and whether <see cref="TokenResponseWriter"/> may write the answer (the options'
    /// ApplyTokenResponse handlers are the ones it stands for).
    /// </summary>
    internal sealed record Derived(OpenIddictServerOptions Options, bool Public, bool CodeGrant, bool RefreshGrant,
        TimeSpan? AccessTokenLifetime, TimeSpan? RefreshTokenLifetime, TimeSpan? IdentityTokenLifetime, bool WritesResponse);

    private sealed record Unsuitable(OpenIddictServerOptions Options);
}
