using System.Collections.Immutable;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Audit.Handlers;
using IdentityHub.Server.Oidc.RefreshTokens;
using IdentityHub.Server.Data;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>The refresh fast path's tokens: the principals prepared as OpenIddict's sign-in prepares them, and their JWTs.</summary>
public sealed partial class RefreshTokenFastPath
{
    /// <summary>
    /// What OpenIddict's sign-in does to the principal before it prepares the tokens of a refresh_token grant:
    /// RestoreInternalClaims (the presented token's private claims the new principal lacks: authorization, scopes,
    /// resources, presenters, nonce ...), AttachHostProperties (no host properties here: none), AttachDefaultScopes (the
    /// request has no scope), AttachDefaultPresenters, InferResources.
    /// </summary>
    private static void PrepareSignIn(ClaimsPrincipal principal, ClaimsPrincipal presented, string clientId)
    {
        var identity = (ClaimsIdentity)principal.Identity!;
        foreach (var group in presented.Claims.Where(c => c.Type.StartsWith("oi_", StringComparison.OrdinalIgnoreCase)).GroupBy(c => c.Type))
        {
            if (!principal.Claims.Any(c => c.Type == group.Key))
            {
                identity.AddClaims(group);
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

    /// <summary>OpenIddict's PrepareAccessTokenPrincipal for a refresh request without scope.</summary>
    private static ClaimsPrincipal PrepareAccessToken(ClaimsPrincipal principal, string clientId, string issuer, DateTimeOffset now, TimeSpan? lifetime)
    {
        var access = principal.Clone(claim =>
        {
            if (Is(claim, Claims.Subject) || Is(claim, Claims.Private.AuthorizationId) || Is(claim, Claims.Private.Presenter) || Is(claim, Claims.Private.Scope))
            {
                return true;
            }

            return !IsPerToken(claim) && !claim.Type.StartsWith("oi_", StringComparison.OrdinalIgnoreCase) && claim.HasDestination(Destinations.AccessToken);
        });
        Dated(access, issuer, now, lifetime, withoutDestinations: true);
        access.SetAudiences(principal.GetResources());
        access.SetClaim(Claims.ClientId, clientId);
        return access;
    }

    /// <summary>OpenIddict's PrepareRefreshTokenPrincipal (sliding expiration: a new lifetime from now).</summary>
    private static ClaimsPrincipal PrepareRefreshToken(ClaimsPrincipal principal, string issuer, DateTimeOffset now, TimeSpan? lifetime)
    {
        var refresh = principal.Clone(claim => !IsPerToken(claim));
        Dated(refresh, issuer, now, lifetime, withoutDestinations: false);
        return refresh;
    }

    /// <summary>OpenIddict's PrepareIdentityTokenPrincipal at the token endpoint: aud and azp the client, the grant's nonce.</summary>
    private static ClaimsPrincipal PrepareIdentityToken(ClaimsPrincipal principal, string clientId, string issuer, DateTimeOffset now, TimeSpan? lifetime)
    {
        var identity = principal.Clone(claim =>
        {
            if (Is(claim, Claims.Subject) || Is(claim, Claims.Private.AuthorizationId))
            {
                return true;
            }

            return !IsPerToken(claim) && !claim.Type.StartsWith("oi_", StringComparison.OrdinalIgnoreCase) && claim.HasDestination(Destinations.IdentityToken);
        });
        Dated(identity, issuer, now, lifetime, withoutDestinations: true);
        identity.SetAudiences([clientId]);
        identity.SetClaim(Claims.AuthorizedParty, clientId);
        identity.SetClaim(Claims.Nonce, principal.GetClaim(Claims.Private.Nonce));
        return identity;
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

    /// <summary>One token of the sign-in, as OpenIddict's AttachTokenSubject and AttachTokenMetadata describe it.</summary>
    private static string CreateToken(OpenIddictServerOptions options, ClaimsPrincipal principal, string type, SigningCredentials signing,
        EncryptingCredentials? encryption)
    {
        var isAccess = type == TokenTypeIdentifiers.AccessToken;
        var isIdentity = type == TokenTypeIdentifiers.IdentityToken;
        var subject = (ClaimsIdentity)principal.Clone(claim => claim.Type switch
        {
            Claims.Private.CreationDate or Claims.Private.ExpirationDate or Claims.Private.Issuer or Claims.Private.TokenType => false,
            Claims.Private.Audience => !isAccess && !isIdentity,
            Claims.Private.Scope => !isAccess,
            Claims.AuthenticationMethodReference => !isIdentity,
            _ => true,
        }).Identity!;

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

        if (type == TokenTypeIdentifiers.RefreshToken && principal.GetDestinations() is { Count: > 0 } destinations)
        {
            claims[Claims.Private.ClaimDestinationsMap] = destinations;
        }

        var jwtType = type switch
        {
            TokenTypeIdentifiers.AccessToken => JsonWebTokenTypes.AccessToken,
            TokenTypeIdentifiers.IdentityToken => "JWT",
            _ => JsonWebTokenTypes.Private.RefreshToken,
        };
        return CreateJwt(options, jwtType, subject, claims, principal.GetClaim(Claims.Private.Issuer),
            principal.GetCreationDate(), principal.GetExpirationDate(), signing, encryption);
    }

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

    /// <summary>OpenIddict's AttachTokenDigests: the hash of the signing algorithm's size (SHA-256 for RS256/PS256/ES256 ...).</summary>
    private static Func<byte[], byte[]>? TokenHash(SigningCredentials credentials) =>
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
