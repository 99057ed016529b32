using System.Buffers;
using System.Buffers.Text;
using System.Collections.Immutable;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Audit.Handlers;
using IdentityHub.Server.Oidc.RefreshTokens;
using IdentityHub.Server.Data;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using Microsoft.Extensions.Options;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// What the token endpoint's fast paths of the code and refresh grants (<see cref="AuthorizationCodeFastPath"/>,
/// <see cref="RefreshTokenFastPath"/>) issue alike: the principals prepared as OpenIddict's sign-in prepares them for a
/// grant_type=authorization_code or refresh_token request without scope, their JWTs, and the answer.
/// </summary>
internal static class SignInTokens
{
    /// <summary>
    /// What OpenIddict's sign-in does to the principal before it prepares the tokens of a code or refresh_token grant:
    /// RestoreInternalClaims (the presented code's or token's private claims the new principal lacks: authorization, scopes,
    /// resources, presenters, nonce ...), AttachHostProperties (no host properties here: none), AttachDefaultScopes (the
    /// request has no scope), AttachDefaultPresenters, InferResources.
    /// </summary>
    internal static void PrepareSignIn(ClaimsPrincipal principal, ClaimsPrincipal presented, string clientId)
    {
        var identity = (ClaimsIdentity)principal.Identity!;
        // Per private claim type of the presented principal, in the order of first appearance, its claims together, unless
        // the principal has one of that type (ordinal).
        HashSet<string>? types = null;
        List<string>? restored = null;
        foreach (var claim in presented.Claims)
        {
            if (claim.Type.StartsWith("oi_", StringComparison.OrdinalIgnoreCase)
                && (types ??= principal.Claims.Select(c => c.Type).ToHashSet(StringComparer.Ordinal)).Add(claim.Type))
            {
                (restored ??= []).Add(claim.Type);
            }
        }

        foreach (var type in restored ?? [])
        {
            foreach (var claim in presented.Claims)
            {
                if (claim.Type == type)
                {
                    identity.AddClaim(claim);
                }
            }
        }

        principal.SetClaim(Claims.Private.HostProperties, (IDictionary<string, string?>?)null);
        if (!principal.HasClaim(Claims.Private.Presenter))
        {
            principal.SetPresenters([clientId]);
        }

        if (principal.HasClaim(Claims.Private.Audience) && !principal.HasClaim(Claims.Private.Resource))
        {
            principal.SetResources(principal.GetAudiences());
        }

        principal.SetAudiences(ImmutableArray<string>.Empty);
    }

    /// <summary>OpenIddict's PrepareAccessTokenPrincipal for a code or refresh request without scope.</summary>
    internal static ClaimsPrincipal PrepareAccessToken(ClaimsPrincipal principal, string clientId, string issuer, DateTimeOffset now, TimeSpan? lifetime)
    {
        var access = principal.Clone(claim =>
        {
            if (Is(claim, Claims.Subject) || Is(claim, Claims.Private.AuthorizationId) || Is(claim, Claims.Private.Presenter) || Is(claim, Claims.Private.Scope))
            {
                return true;
            }

            return !IsPerToken(claim) && !claim.Type.StartsWith("oi_", StringComparison.OrdinalIgnoreCase) && ClaimDestinations.Has(claim, Destinations.AccessToken);
        });
        Dated(access, issuer, now, lifetime, withoutDestinations: true);
        access.SetAudiences(principal.GetResources());
        access.SetClaim(Claims.ClientId, clientId);
        return access;
    }

    /// <summary>OpenIddict's PrepareRefreshTokenPrincipal (sliding expiration: a new lifetime from now).</summary>
    internal static ClaimsPrincipal PrepareRefreshToken(ClaimsPrincipal principal, string issuer, DateTimeOffset now, TimeSpan? lifetime)
    {
        var refresh = principal.Clone(claim => !IsPerToken(claim));
        Dated(refresh, issuer, now, lifetime, withoutDestinations: false);
        return refresh;
    }

    /// <summary>OpenIddict's PrepareIdentityTokenPrincipal at the token endpoint: aud and azp the client, the grant's nonce.</summary>
    internal static ClaimsPrincipal PrepareIdentityToken(ClaimsPrincipal principal, string clientId, string issuer, DateTimeOffset now, TimeSpan? lifetime)
    {
        var identity = principal.Clone(claim =>
        {
            if (Is(claim, Claims.Subject) || Is(claim, Claims.Private.AuthorizationId))
            {
                return true;
            }

            return !IsPerToken(claim) && !claim.Type.StartsWith("oi_", StringComparison.OrdinalIgnoreCase) && ClaimDestinations.Has(claim, Destinations.IdentityToken);
        });
        Dated(identity, issuer, now, lifetime, withoutDestinations: true);
        identity.SetAudiences([clientId]);
        identity.SetClaim(Claims.AuthorizedParty, clientId);
        identity.SetClaim(Claims.Nonce, principal.GetClaim(Claims.Private.Nonce));
        return identity;
    }

    /// <summary>The principals of the tokens a code or refresh grant's sign-in issues (EvaluateGeneratedTokens).</summary>
    internal sealed record Prepared(ClaimsPrincipal Access, ClaimsPrincipal? Refresh, ClaimsPrincipal? Identity);

    /// <summary>
    /// OpenIddict's EvaluateGeneratedTokens and Prepare{Access,Refresh,Identity}TokenPrincipal for the completed sign-in
    /// principal: an access token always, a refresh token with offline_access, an ID token with openid when
    /// <paramref name="identityToken"/> allows it (a code grant always; a refresh only for a client that asked for one,
    /// <see cref="RefreshIdTokens"/>, as <see cref="OmitRefreshIdToken"/> decides on the normal path); each lifetime the
    /// principal's own, else the client's, else the server's.
    /// </summary>
    internal static Prepared Prepare(ClaimsPrincipal principal, string clientId, string issuer, OpenIddictServerOptions options,
        GrantFastPathClients.Derived client, bool identityToken)
    {
        var now = options.TimeProvider.GetUtcNow();
        var access = PrepareAccessToken(principal, clientId, issuer, now,
            principal.GetAccessTokenLifetime() ?? client.AccessTokenLifetime ?? options.AccessTokenLifetime);
        var refresh = principal.HasScope(Scopes.OfflineAccess)
            ? PrepareRefreshToken(principal, issuer, now, principal.GetRefreshTokenLifetime() ?? client.RefreshTokenLifetime ?? options.RefreshTokenLifetime)
            : null;
        var identity = identityToken && principal.HasScope(Scopes.OpenId)
            ? PrepareIdentityToken(principal, clientId, issuer, now,
                principal.GetIdentityTokenLifetime() ?? client.IdentityTokenLifetime ?? options.IdentityTokenLifetime)
            : null;
        return new Prepared(access, refresh, identity);
    }

    /// <summary>
    /// The tokens written as OpenIddict's GenerateTokenContext handlers write them (AttachSecurityCredentials with
    /// <see cref="ProtectServerOnlyTokens"/>, AttachTokenSubject, AttachTokenMetadata, GenerateIdentityModelToken; the ID
    /// token's at_hash as AttachTokenDigests computes it), the response members as AttachSignInParameters sets them, the
    /// awaited token.issued / token.refreshed and claims.released events (<see cref="AuditIssuedTokens.Records"/>), the
    /// fast path's count, then the response (Cache-Control: no-store, Pragma: no-cache, RFC 6749 section 5.1) as OpenIddict's
    /// ApplyTokenResponse handlers write it: by <see cref="TokenResponseWriter"/> when <paramref name="direct"/> and
    /// <paramref name="clientWritesResponse"/> (no other handler registered for that event:
    /// <see cref="GrantFastPathClients.Derived.WritesResponse"/>), else through that event. The refresh principal, if any, carries the id of its entry already.
    /// </summary>
    internal static async Task AnswerAsync(ProcessRequestContext context, IOpenIddictServerDispatcher dispatcher,
        IOptionsMonitor<OpenIddictServerAspNetCoreOptions> aspNetCore, IAuditLog audit,
        ServerOnlyTokenKeys keys, SigningCredentials signing, SigningCredentials identitySigning, Prepared tokens, string grantType, string clientId, ClientPolicy policy,
        string? userId, ClaimsPrincipal principal, Action count, bool direct, bool clientWritesResponse)
    {
        var options = context.Options;
        var accessToken = CreateToken(options, tokens.Access, TokenTypeIdentifiers.AccessToken, signing, null, direct);
        var refreshToken = tokens.Refresh is { } refresh
            ? CreateToken(options, refresh, TokenTypeIdentifiers.RefreshToken, keys.Signing, keys.Encryption, direct)
            : null;
        string? identityToken = null;
        if (tokens.Identity is { } identity)
        {
            // AttachTokenDigests: at_hash, the left half of the access token's hash under the ID token's algorithm (OpenID
            // Connect Core 1.0 section 3.1.3.6). No c_hash: no code is issued at the token endpoint.
            identity.SetClaim(Claims.AccessTokenHash, AccessTokenHash(TokenHash(identitySigning)!, accessToken));
            identityToken = CreateToken(options, identity, TokenTypeIdentifiers.IdentityToken, identitySigning, null, direct);
        }

        // AttachSignInParameters: the members in OpenIddict's order (RFC 6749 section 5.1).
        var response = new OpenIddictResponse { AccessToken = accessToken, TokenType = TokenTypes.Bearer };
        if (tokens.Access.GetExpirationDate() is { } expires && expires > options.TimeProvider.GetUtcNow())
        {
            response.ExpiresIn = (long)((expires - options.TimeProvider.GetUtcNow()).TotalSeconds + .5);
        }

        // The granted scopes: always named for a code grant; for a refresh request without scope (the only kind the fast
        // path takes) whenever they differ from the request's, that is whenever there are any.
        var scopes = tokens.Access.GetScopes().ToHashSet(StringComparer.Ordinal);
        if (grantType == GrantTypes.AuthorizationCode || scopes.Count > 0)
        {
            response.Scope = string.Join(' ', scopes);
        }

        if (identityToken is not null)
        {
            response.IdToken = identityToken;
        }

        if (refreshToken is not null)
        {
            response.RefreshToken = refreshToken;
        }

        // AuditIssuedTokens: the events, awaited (the answer leaves once they are durable).
        await audit.WriteAsync(AuditActor.Client(clientId), AuditIssuedTokens.Records(grantType == GrantTypes.RefreshToken, grantType,
            clientId, policy, userId, principal, (Parameters.AccessToken, accessToken, tokens.Access),
            (Parameters.IdToken, identityToken, tokens.Identity), (Parameters.RefreshToken, refreshToken, tokens.Refresh)));

        // Counted before the answer leaves, so that whoever holds the answer can rely on the count.
        count();

        context.Transaction.Response = response;
        await TokenResponseWriter.AnswerAsync(context, direct && clientWritesResponse, dispatcher, aspNetCore);
    }

    private static bool Is(Claim claim, string type) => string.Equals(claim.Type, type, StringComparison.OrdinalIgnoreCase);

    /// <summary>What every Prepare*Principal handler drops: the claims of the token being replaced.</summary>
    private static bool IsPerToken(Claim claim) =>
        Is(claim, Claims.JwtId) || Is(claim, Claims.Private.TokenId) || Is(claim, Claims.ExpiresAt) || Is(claim, Claims.IssuedAt)
        || Is(claim, Claims.NotBefore) || Is(claim, Claims.Confirmation);

    private static void Dated(ClaimsPrincipal principal, string issuer, DateTimeOffset now, TimeSpan? lifetime, bool withoutDestinations)
    {
        if (withoutDestinations)
        {
            foreach (var claim in principal.Claims)
            {
                claim.Properties.Remove(Properties.Destinations);
            }
        }

        principal.SetCreationDate(now);
        if (lifetime is { } value)
        {
            principal.SetExpirationDate(principal.GetCreationDate() + value);
        }

        principal.SetClaim(Claims.Private.Issuer, issuer);
    }

    /// <summary>
    /// One token of the sign-in, as OpenIddict's AttachTokenSubject and AttachTokenMetadata describe it: written directly
    /// (<see cref="SignInJwtWriter"/>, the same bytes) when <paramref name="direct"/>, else by OpenIddict's token handler.
    /// </summary>
    internal static string CreateToken(OpenIddictServerOptions options, ClaimsPrincipal principal, string type, SigningCredentials signing,
        EncryptingCredentials? encryption, bool direct = false)
    {
        var token = Describe(principal, type);
        return direct && SignInJwtWriter.TryCreate(options.JsonWebTokenHandler, principal, token, signing, encryption) is { } written
            ? written
            : CreateWithHandler(options, principal, token, signing, encryption);
    }

    /// <summary>What a token of the sign-in is made of (AttachTokenSubject's filter, AttachTokenMetadata's claims, the JWS type, issuer and dates).</summary>
    internal sealed record TokenDescription(Func<Claim, bool> InSubject, Dictionary<string, object> Claims, string JwtType, string? Issuer,
        DateTimeOffset? IssuedAt, DateTimeOffset? Expires);

    internal static TokenDescription Describe(ClaimsPrincipal principal, string type)
    {
        var isAccess = type == TokenTypeIdentifiers.AccessToken;
        var isIdentity = type == TokenTypeIdentifiers.IdentityToken;
        var claims = new Dictionary<string, object>(StringComparer.Ordinal);
        if (isAccess || isIdentity)
        {
            var audiences = principal.GetAudiences();
            if (audiences.Length > 0)
            {
                claims[Claims.Audience] = audiences.Length == 1 && audiences[0] is { } single ? single : audiences.ToArray();
            }
        }

        if (isIdentity && principal.GetClaims(Claims.AuthenticationMethodReference) is { Length: > 0 } amr)
        {
            claims[Claims.AuthenticationMethodReference] = amr.ToArray();
        }

        if (isAccess)
        {
            var scopes = principal.GetScopes();
            if (scopes.Length > 0)
            {
                claims[Claims.Scope] = string.Join(" ", scopes);
            }

            claims[Claims.JwtId] = Guid.NewGuid().ToString();
        }

        if (type == TokenTypeIdentifiers.RefreshToken && ClaimDestinations.Of(principal) is { Count: > 0 } destinations)
        {
            claims[Claims.Private.ClaimDestinationsMap] = destinations;
        }

        var jwtType = type switch
        {
            TokenTypeIdentifiers.AccessToken => JsonWebTokenTypes.AccessToken,
            TokenTypeIdentifiers.IdentityToken => "JWT",
            _ => JsonWebTokenTypes.Private.RefreshToken,
        };
        // AttachTokenSubject: what of the principal goes into the token's payload.
        return new TokenDescription(isAccess ? InAccessTokenSubject : isIdentity ? InIdentityTokenSubject : InServerOnlyTokenSubject,
            claims, jwtType, principal.GetClaim(Claims.Private.Issuer), principal.GetCreationDate(), principal.GetExpirationDate());
    }

    /// <summary>The token by OpenIddict's token handler, over the descriptor GenerateIdentityModelToken gives it.</summary>
    internal static string CreateWithHandler(OpenIddictServerOptions options, ClaimsPrincipal principal, TokenDescription token,
        SigningCredentials signing, EncryptingCredentials? encryption) =>
        CreateJwt(options, token.JwtType, (ClaimsIdentity)principal.Clone(token.InSubject).Identity!, token.Claims, token.Issuer,
            token.IssuedAt, token.Expires, signing, encryption);

    private static readonly Func<Claim, bool> InAccessTokenSubject = claim => InSubject(claim, isAccess: true, isIdentity: false);
    private static readonly Func<Claim, bool> InIdentityTokenSubject = claim => InSubject(claim, isAccess: false, isIdentity: true);
    private static readonly Func<Claim, bool> InServerOnlyTokenSubject = claim => InSubject(claim, isAccess: false, isIdentity: false);

    private static bool InSubject(Claim claim, bool isAccess, bool isIdentity) => claim.Type switch
    {
        Claims.Private.CreationDate or Claims.Private.ExpirationDate or Claims.Private.Issuer or Claims.Private.TokenType => false,
        Claims.Private.Audience => !isAccess && !isIdentity,
        Claims.Private.Scope => !isAccess,
        Claims.AuthenticationMethodReference => !isIdentity,
        _ => true,
    };

    /// <summary>
    /// A token as OpenIddict's GenerateIdentityModelToken writes it: its token handler over a descriptor of the subject's
    /// claims (what AttachTokenSubject keeps), the metadata claims (AttachTokenMetadata: aud, scope, jti, amr, oi_cl_dstn),
    /// iss, iat and exp, the JWS typ, signed and, for server-only tokens, encrypted.
    /// </summary>
    private static string CreateJwt(OpenIddictServerOptions options, string type, System.Security.Claims.ClaimsIdentity? subject,
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
    /// at_hash: BASE64URL of the left half of the hash of the access token's ASCII octets (OpenID Connect Core 1.0 section
    /// 3.1.3.6), the octets in a pooled buffer and the hash on the stack (an access token is a few kilobytes).
    /// </summary>
    private static string AccessTokenHash(SpanHash hash, string accessToken)
    {
        var octets = ArrayPool<byte>.Shared.Rent(Encoding.ASCII.GetMaxByteCount(accessToken.Length));
        try
        {
            var length = Encoding.ASCII.GetBytes(accessToken, octets);
            Span<byte> digest = stackalloc byte[64];
            var written = hash(octets.AsSpan(0, length), digest);
            return Base64Url.EncodeToString(digest[..(written / 2)]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(octets);
        }
    }

    /// <summary>A hash function of <see cref="TokenHash"/>: SHA256.HashData and its kin, into a span.</summary>
    internal delegate int SpanHash(ReadOnlySpan<byte> source, Span<byte> destination);

    /// <summary>OpenIddict's AttachTokenDigests: the hash of the signing algorithm's size (SHA-256 for RS256/PS256/ES256 ...).</summary>
    internal static SpanHash? TokenHash(SigningCredentials credentials) =>
        credentials.Digest is "SHA256" or SecurityAlgorithms.Sha256Digest
        || credentials.Algorithm is SecurityAlgorithms.RsaSha256 or SecurityAlgorithms.RsaSsaPssSha256 or SecurityAlgorithms.EcdsaSha256
            or SecurityAlgorithms.HmacSha256 or SecurityAlgorithms.EcdsaSha256Signature or SecurityAlgorithms.HmacSha256Signature
            or SecurityAlgorithms.RsaSha256Signature or SecurityAlgorithms.RsaSsaPssSha256Signature
            ? SHA256.HashData
            : credentials.Digest is "SHA384" or SecurityAlgorithms.Sha384Digest
              || credentials.Algorithm is SecurityAlgorithms.RsaSha384 or SecurityAlgorithms.RsaSsaPssSha384 or SecurityAlgorithms.EcdsaSha384
                  or SecurityAlgorithms.HmacSha384 or SecurityAlgorithms.EcdsaSha384Signature or SecurityAlgorithms.HmacSha384Signature
                  or SecurityAlgorithms.RsaSha384Signature or SecurityAlgorithms.RsaSsaPssSha384Signature
                ? SHA384.HashData
                : credentials.Digest is "SHA512" or SecurityAlgorithms.Sha512Digest
                  || credentials.Algorithm is SecurityAlgorithms.RsaSha512 or SecurityAlgorithms.RsaSsaPssSha512 or SecurityAlgorithms.EcdsaSha512
                      or SecurityAlgorithms.HmacSha512 or SecurityAlgorithms.EcdsaSha512Signature or SecurityAlgorithms.HmacSha512Signature
                      or SecurityAlgorithms.RsaSha512Signature or SecurityAlgorithms.RsaSsaPssSha512Signature
                    ? SHA512.HashData
                    : null;
}
