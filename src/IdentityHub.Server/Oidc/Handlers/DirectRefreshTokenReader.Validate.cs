using System.Runtime.CompilerServices;
using System.Security.Claims;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc.Handlers;

public sealed partial class DirectRefreshTokenReader
{
    /// <summary>
    /// The whole of OpenIddict's validation of a presented refresh token as the refresh fast path dispatches it
    /// (ValidateTokenContext, refresh tokens only, nothing else asked of it), without the dispatch, for a token of this
    /// server's exact shape that passes every check: <see cref="TryRead"/> (ValidateIdentityModelToken), then as OpenIddict's
    /// handlers: NormalizeScopeClaims (several scope claims joined), MapInternalClaims (the creation and expiration dates,
    /// audiences, presenters and scopes restored from iat, exp, aud, azp or client_id and scope when the token lacks the
    /// private claims), <see cref="RefreshTokens.RestoreRefreshTokenEntry"/> (the token id, required, and the authorization
    /// id from the token), ValidatePrincipal (a refresh token), ValidateExpirationDate, and this server's
    /// <see cref="RejectSenderConstrainedTokens"/> (<see cref="RejectRevokedAccessTokens"/> reads access tokens only). ValidatePresenters and ValidateAudiences check nothing for the fast path,
    /// which asks for no presenter or audience (it checks the presenters itself); ValidateProofOfPossession sees no cnf here.
    /// <para>
    /// Null, for OpenIddict's dispatch to decide as before, for anything else: a token <see cref="TryRead"/> declines; a
    /// token with cnf; one expired, or expiring within a minute beyond OpenIddict's clock skew (the borderline left to
    /// OpenIddict's own clock and comparison); one without a token id; and any server whose validation handlers are not
    /// exactly the known ones (<see cref="KnownHandlers"/>: another OpenIddict version or an added handler decides through
    /// the dispatch).
    /// </para>
    /// </summary>
    public (ClaimsPrincipal Principal, string TokenId, string? AuthorizationId)? TryValidate(string token, OpenIddictServerOptions options,
        Uri? baseUri, DateTimeOffset now)
    {
        if (!_knownHandlers.GetValue(options, HandlersAreKnown).Value || TryRead(token, options, baseUri) is not { } principal)
        {
            return null;
        }

        // NormalizeScopeClaims.
        var scopes = principal.GetClaims(Claims.Scope);
        if (scopes.Length > 1)
        {
            principal.SetClaim(Claims.Scope, string.Join(" ", scopes));
        }

        // MapInternalClaims.
        if (!principal.HasClaim(Claims.Private.CreationDate)
            && long.TryParse(principal.GetClaim(Claims.IssuedAt), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var issuedAt))
        {
            principal.SetCreationDate(DateTimeOffset.FromUnixTimeSeconds(issuedAt));
        }

        if (!principal.HasClaim(Claims.Private.ExpirationDate)
            && long.TryParse(principal.GetClaim(Claims.ExpiresAt), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var expiresAt))
        {
            principal.SetExpirationDate(DateTimeOffset.FromUnixTimeSeconds(expiresAt));
        }

        if (!principal.HasClaim(Claims.Private.Audience) && principal.GetClaims(Claims.Audience) is { IsDefaultOrEmpty: false } audiences)
        {
            principal.SetAudiences(audiences);
        }

        if (!principal.HasClaim(Claims.Private.Presenter)
            && (principal.GetClaim(Claims.AuthorizedParty) ?? principal.GetClaim(Claims.ClientId)) is { Length: > 0 } presenter)
        {
            principal.SetPresenters(presenter);
        }

        if (!principal.HasClaim(Claims.Private.Scope) && principal.GetClaim(Claims.Scope) is { Length: > 0 } scope)
        {
            principal.SetScopes(scope.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        // RestoreRefreshTokenEntry, ValidatePrincipal, ValidateExpirationDate (with a margin), RejectSenderConstrainedTokens.
        if (principal.GetTokenId() is not { Length: > 0 } tokenId
            || principal.GetTokenType() != TokenTypeIdentifiers.RefreshToken
            || principal.GetExpirationDate() is not { } expires
            || expires <= now + options.TokenValidationParameters.ClockSkew + ExpiryMargin
            || principal.FindFirst(Claims.Confirmation) is not null)
        {
            return null;
        }

        return (principal, tokenId, principal.GetAuthorizationId());
    }

    /// <summary>A token this close to its expiry (beyond the clock skew) is left to OpenIddict's own comparison.</summary>
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The handlers of OpenIddict's token validation this method stands in for (OpenIddict 7.8's, with this server's
    /// replacements and additions); a server with any other handler for ValidateTokenContext is read through the dispatch.
    /// </summary>
    internal static readonly HashSet<Type> KnownHandlers =
    [
        typeof(OpenIddictServerHandlers.Protection.ResolveTokenValidationParameters),
        typeof(OpenIddictServerHandlers.Protection.RemoveDisallowedCharacters),
        typeof(OpenIddictServerHandlers.Protection.ValidateReferenceTokenIdentifier),
        typeof(OpenIddictServerHandlers.Protection.ValidateIdentityModelToken),
        typeof(OpenIddictServerHandlers.Protection.NormalizeScopeClaims),
        typeof(OpenIddictServerHandlers.Protection.MapInternalClaims),
        typeof(OpenIddictServerHandlers.Protection.RestoreTokenEntryProperties),
        typeof(OpenIddictServerHandlers.Protection.ValidatePrincipal),
        typeof(OpenIddictServerHandlers.Protection.ValidateExpirationDate),
        typeof(OpenIddictServerHandlers.Protection.ValidatePresenters),
        typeof(OpenIddictServerHandlers.Protection.ValidateAudiences),
        typeof(OpenIddictServerHandlers.Protection.ValidateProofOfPossession),
        typeof(OpenIddictServerHandlers.Protection.ValidateTokenEntry),
        typeof(OpenIddictServerHandlers.Protection.ValidateAuthorizationEntry),
        typeof(RefreshTokens.RestoreRefreshTokenEntry),
        typeof(RejectSenderConstrainedTokens),
        // Access tokens only: nothing for a refresh token.
        typeof(RejectRevokedAccessTokens),
    ];

    private readonly ConditionalWeakTable<OpenIddictServerOptions, StrongBox<bool>> _knownHandlers = new();

    internal static StrongBox<bool> HandlersAreKnown(OpenIddictServerOptions options) =>
        new(options.Handlers.Where(d => d.ContextType == typeof(OpenIddictServerEvents.ValidateTokenContext))
            .All(d => KnownHandlers.Contains(d.ServiceDescriptor.ServiceType)));
}
