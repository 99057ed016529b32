using IdentityHub.Server.Oidc.Revocation;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// RFC 7009 revocation of an access token without a token entry: its jti is recorded until it expires
/// (<see cref="AccessTokenRevocations"/>). OpenIddict's own RevokeToken, which needs an entry and would answer
/// unsupported_token_type, runs only for tokens that have one (<see cref="RevokeTokenEntriesOnly"/>: codes, refresh
/// tokens, and access tokens issued before entries stopped).
/// </summary>
public sealed class RevokeSelfContainedAccessTokens(AccessTokenRevocations revocations) : IOpenIddictServerHandler<HandleRevocationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleRevocationRequestContext>()
            .UseSingletonHandler<RevokeSelfContainedAccessTokens>()
            .SetOrder(OpenIddictServerHandlers.Revocation.RevokeToken.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>OpenIddict's RevokeToken, filtered to tokens with an entry.</summary>
    public static OpenIddictServerHandlerDescriptor RevokeTokenEntriesOnly { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleRevocationRequestContext>()
            .Import(OpenIddictServerHandlers.Revocation.RevokeToken.Descriptor)
            .AddFilter<RequireTokenEntry>()
            .Build();

    public async ValueTask HandleAsync(HandleRevocationRequestContext context)
    {
        if (!IsSelfContainedAccessToken(context))
        {
            return;
        }

        if (context.GenericTokenPrincipal!.GetClaim(Claims.JwtId) is not { Length: > 0 } jti)
        {
            // Every access token OpenIddict issues has one (RFC 9068 section 2.2).
            context.Reject(Errors.UnsupportedTokenType, "The access token cannot be revoked.");
            return;
        }

        await revocations.RevokeTokenAsync(jti, context.GenericTokenPrincipal!.GetExpirationDate(), context.CancellationToken);
    }

    private static bool IsSelfContainedAccessToken(HandleRevocationRequestContext context) =>
        context.GenericTokenPrincipal is { } principal && principal.HasTokenType(TokenTypeIdentifiers.AccessToken) && string.IsNullOrEmpty(principal.GetTokenId());

    public sealed class RequireTokenEntry : IOpenIddictServerHandlerFilter<HandleRevocationRequestContext>
    {
        public ValueTask<bool> IsActiveAsync(HandleRevocationRequestContext context) => new(!IsSelfContainedAccessToken(context));
    }
}
