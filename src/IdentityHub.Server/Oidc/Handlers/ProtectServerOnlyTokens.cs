using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Chooses the keys of each token OpenIddict generates, right after its own choice (AttachSecurityCredentials):
/// authorization codes and refresh tokens, which only this server reads, get the symmetric keys of
/// <see cref="ServerOnlyTokenKeys"/>; every other token (access tokens, ID tokens, ...) keeps an asymmetric key,
/// the one published in JWKS, exactly as before the symmetric keys were registered (OpenIddict would otherwise
/// prefer a symmetric key for access tokens too, and department APIs could no longer validate them offline).
/// </summary>
public sealed class ProtectServerOnlyTokens(ServerOnlyTokenKeys keys) : IOpenIddictServerHandler<GenerateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
            .UseSingletonHandler<ProtectServerOnlyTokens>()
            .SetOrder(OpenIddictServerHandlers.Protection.AttachSecurityCredentials.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>
    /// OpenIddict validates every token it reads with all its signing keys, the symmetric ones above included: those sign only
    /// codes and refresh tokens (their JWS types oi_auc+jwt and oi_reft+jwt, always inside a JWE). Set as the validation
    /// parameters' IssuerSigningKeyValidator, this refuses a symmetric key for any other token, so an access token, ID token
    /// or id_token_hint (at+jwt, JWT) signed with one is invalid (RFC 8725 section 3.1: use each key for one purpose only).
    /// </summary>
    public static bool AcceptsSigningKey(SecurityKey key, SecurityToken token, TokenValidationParameters parameters) =>
        key is not SymmetricSecurityKey
        || token is JsonWebToken { Typ: JsonWebTokenTypes.Private.AuthorizationCode or JsonWebTokenTypes.Private.RefreshToken };

    public static bool IsServerOnly(string? tokenType) =>
        tokenType is TokenTypeIdentifiers.Private.AuthorizationCode or TokenTypeIdentifiers.RefreshToken;

    public ValueTask HandleAsync(GenerateTokenContext context)
    {
        if (IsServerOnly(context.TokenType))
        {
            context.SigningCredentials = keys.Signing;
            context.EncryptionCredentials = keys.Encryption;
            return ValueTask.CompletedTask;
        }

        if (context.SigningCredentials?.Key is SymmetricSecurityKey)
        {
            context.SigningCredentials = context.Options.SigningCredentials.First(c => c.Key is AsymmetricSecurityKey);
        }

        if (context.EncryptionCredentials?.Key is SymmetricSecurityKey)
        {
            context.EncryptionCredentials = context.Options.EncryptionCredentials.First(c => c.Key is AsymmetricSecurityKey);
        }

        return ValueTask.CompletedTask;
    }
}
