using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The access-token check the fast paths share (<see cref="IntrospectionFastPath"/>, <see cref="UserInfoFastPath"/>): what
/// OpenIddict's ValidateIdentityModelToken, ValidateTokenType, MapInternalClaims and ValidateExpirationDate accept for an
/// access token, narrowed to the plain case; anything else is left to the normal path. A token passes when it is a JWS (not
/// a JWE) whose header type is at+jwt or application/at+jwt (RFC 9068 section 2.1), signed by one of the server's
/// asymmetric signing keys, issued by this issuer, with sub, jti, iat and exp (in the future) once each, and without nbf,
/// cnf (a sender-constrained token), azp, or a private OpenIddict claim other than oi_prst and oi_au_id (oi_tkn_id: a token
/// entry, which the normal path reads). Revocation is the caller's check (<see cref="Revocation.RevokedAccessTokens"/>).
/// </summary>
internal static class FastAccessTokens
{
    private static readonly string[] AccessTokenTypes = [JsonWebTokenTypes.AccessToken, "application/at+jwt"];

    /// <summary>The token's values when it is an access token a fast path may answer for; else null.</summary>
    public static async Task<ActiveAccessToken?> ReadAsync(string token, JsonWebTokenHandler handler, TokenValidationParameters parameters,
        TimeProvider clock)
    {
        // A JWS of three parts (a JWE has five): anything else goes to the normal path.
        if (token.Length > 8192 || token.AsSpan().Count('.') != 2)
        {
            return null;
        }

        TokenValidationResult result;
        try
        {
            result = await handler.ValidateTokenAsync(token, parameters);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or FormatException or JsonException)
        {
            return null;
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken { InnerToken: null } jwt || !AccessTokenTypes.Contains(jwt.Typ))
        {
            return null;
        }

        string? subject = null, tokenId = null, clientId = null, authorizationId = null, sessionId = null, scope = null, claimsRequest = null;
        long? issuedAt = null, expiresAt = null;
        var audiences = new List<string>(2);
        var presenters = new List<string>(1);
        foreach (var claim in jwt.Claims)
        {
            switch (claim.Type)
            {
                case Claims.Subject: subject = Single(subject, claim.Value); break;
                case Claims.JwtId: tokenId = Single(tokenId, claim.Value); break;
                case Claims.ClientId: clientId = Single(clientId, claim.Value); break;
                case Claims.Audience: audiences.Add(claim.Value); break;
                case Claims.Scope: scope = Single(scope, claim.Value); break;
                case ClaimsRequest.PrivateClaim: claimsRequest = Single(claimsRequest, claim.Value); break;
                case Claims.Private.Presenter: presenters.Add(claim.Value); break;
                case Claims.Private.AuthorizationId: authorizationId = Single(authorizationId, claim.Value); break;
                case HubClaims.SessionId: sessionId = Single(sessionId, claim.Value); break;
                case Claims.IssuedAt: issuedAt = issuedAt is null && long.TryParse(claim.Value, out var iat) ? iat : -1; break;
                case Claims.ExpiresAt: expiresAt = expiresAt is null && long.TryParse(claim.Value, out var exp) ? exp : -1; break;
                // A sender-constrained token (another token_type), a token with an entry (the normal path reads it), a
                // not-before date, a presenter named by azp (MapInternalClaims' fallback), or another private OpenIddict
                // claim: the normal path.
                case Claims.Confirmation or Claims.NotBefore or Claims.AuthorizedParty: return null;
                case var type when type.StartsWith(Claims.Prefixes.Private, StringComparison.OrdinalIgnoreCase): return null;
            }
        }

        // Single() marks a repeated claim with the empty string.
        if (subject is not { Length: > 0 } || tokenId is not { Length: > 0 } || clientId is "" || authorizationId is "" || sessionId is ""
            || scope is "" || claimsRequest is ""
            || issuedAt is not > 0 || expiresAt is not > 0 || expiresAt <= clock.GetUtcNow().ToUnixTimeSeconds())
        {
            return null;
        }

        // As MapInternalClaims: the scopes of the one space-separated scope claim (SetScopes keeps each once).
        var scopes = scope is null
            ? ImmutableArray<string>.Empty
            : [.. scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal)];
        return new ActiveAccessToken(subject, tokenId, clientId, authorizationId, sessionId, issuedAt.Value, expiresAt.Value,
            [.. audiences.Distinct(StringComparer.Ordinal)], [.. presenters], scopes, claimsRequest);

        static string Single(string? seen, string value) => seen is null ? value : string.Empty;
    }

    /// <summary>
    /// OpenIddict's own validation parameters for access tokens (its ResolveTokenValidationParameters starts from a clone of
    /// these), narrowed: this issuer only (OpenIddict also takes it without its trailing slash), access token types only,
    /// asymmetric keys only. Null under any option with which the normal path would decide differently (degraded mode,
    /// reference or encrypted access tokens, no token or authorization storage, issuers configured otherwise).
    /// </summary>
    public static TokenValidationParameters? Parameters(OpenIddictServerOptions options, string issuer)
    {
        if (options.EnableDegradedMode || options.UseReferenceAccessTokens || !options.DisableAccessTokenEncryption
            || options.DisableTokenStorage || options.DisableAuthorizationStorage
            || options.TokenValidationParameters.ValidIssuers is not null || options.TokenValidationParameters.ValidIssuer is not null)
        {
            return null;
        }

        var parameters = options.TokenValidationParameters.Clone();
        var keys = (parameters.IssuerSigningKeys ?? []).OfType<AsymmetricSecurityKey>().ToList<SecurityKey>();
        if (keys.Count == 0)
        {
            return null;
        }

        parameters.ValidIssuers = [issuer];
        parameters.ValidateIssuer = true;
        parameters.ValidTypes = AccessTokenTypes;
        parameters.IssuerSigningKeys = keys;
        parameters.IssuerSigningKey = null;
        parameters.RequireSignedTokens = true;
        return parameters;
    }
}

/// <summary>The values of an access token <see cref="FastAccessTokens.ReadAsync"/> accepted.</summary>
internal sealed record ActiveAccessToken(string Subject, string TokenId, string? ClientId, string? AuthorizationId, string? SessionId,
    long IssuedAt, long ExpiresAt, string[] Audiences, string[] Presenters, ImmutableArray<string> Scopes, string? ClaimsRequest);
