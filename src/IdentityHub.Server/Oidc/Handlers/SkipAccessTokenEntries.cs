using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Access tokens are self-contained RFC 9068 JWTs: OpenIddict writes no token entry for them (it still does for codes,
/// refresh tokens and ID tokens), which saves a database write on every grant and reads on every validation.
/// Without a token id in the token, OpenIddict's RestoreTokenEntryProperties and ValidateTokenEntry
/// (filter RequireTokenIdResolved) skip them; their revocation is <see cref="Revocation.RevokedAccessTokens"/>,
/// checked by <see cref="RejectRevokedAccessTokens"/>. Runs before OpenIddict's CreateTokenEntry.
/// </summary>
public sealed class SkipAccessTokenEntries : IOpenIddictServerHandler<GenerateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
            .UseSingletonHandler<SkipAccessTokenEntries>()
            .SetOrder(OpenIddictServerHandlers.Protection.CreateTokenEntry.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(GenerateTokenContext context)
    {
        // A reference access token is only its entry: it keeps one.
        if (context.TokenType == TokenTypeIdentifiers.AccessToken && !context.IsReferenceToken)
        {
            context.CreateTokenEntry = false;
            context.PersistTokenPayload = false;
        }

        return default;
    }
}
