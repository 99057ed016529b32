using Microsoft.Extensions.Options;
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
/// prefer a symmetric key for access tokens too, and department APIs could no longer validate them offline). That key is
/// of the algorithm the client registered for the token (<see cref="TokenSigning"/>), else of the server's default one;
/// a client whose registered algorithm has no key loaded gets no token (server_error), never one of another algorithm.
/// </summary>
public sealed class ProtectServerOnlyTokens(ServerOnlyTokenKeys keys, IOptions<OidcOptions> oidc) : IOpenIddictServerHandler<GenerateTokenContext>
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

    /// <summary>The error description of a refusal for want of a key of the client's registered algorithm.</summary>
    public const string NoKeyForRegisteredAlgorithm = "The server has no key for the signing algorithm registered for this client.";

    public static bool IsServerOnly(string? tokenType) =>
        tokenType is TokenTypeIdentifiers.Private.AuthorizationCode or TokenTypeIdentifiers.RefreshToken;

    public async ValueTask HandleAsync(GenerateTokenContext context)
    {
        if (IsServerOnly(context.TokenType))
        {
            context.SigningCredentials = keys.Signing;
            context.EncryptionCredentials = keys.Encryption;
            return;
        }

        // Only ID and access tokens follow a client's registration; other public tokens (PAR request tokens) the default.
        var registered = context.TokenType is TokenTypeIdentifiers.AccessToken or TokenTypeIdentifiers.IdentityToken
            ? (await TokenSigning.OfClientAsync(context.Transaction, context.ClientId, context.CancellationToken)).For(context.TokenType)
            : null;
        context.SigningCredentials = TokenSigning.For(context.Options, oidc.Value.SigningAlgorithm, registered);
        if (context.SigningCredentials is null)
        {
            context.Reject(Errors.ServerError, NoKeyForRegisteredAlgorithm);
            return;
        }

        if (context.EncryptionCredentials?.Key is SymmetricSecurityKey)
        {
            context.EncryptionCredentials = context.Options.EncryptionCredentials.First(c => c.Key is AsymmetricSecurityKey);
        }
    }
}
