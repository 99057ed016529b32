using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The normal path's part of <see cref="RefreshIdTokens"/>: right after OpenIddict's EvaluateGeneratedTokens has decided
/// the tokens of a refresh_token grant's sign-in, the ID token is left out (OpenID Connect Core 1.0 section 12.2: the
/// response "might not contain an id_token") unless the client registered idTokenOnRefresh. The refresh fast path decides
/// the same in <see cref="SignInTokens.Prepare"/>. The access and refresh tokens are untouched, and so is every other grant.
/// </summary>
public sealed class OmitRefreshIdToken : IOpenIddictServerHandler<ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .UseSingletonHandler<OmitRefreshIdToken>()
            .SetOrder(OpenIddictServerHandlers.EvaluateGeneratedTokens.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || !context.GenerateIdentityToken
            || context.Request?.IsRefreshTokenGrantType() != true
            || await WantsAsync(context.Transaction, context.ClientId, context.CancellationToken))
        {
            return;
        }

        context.GenerateIdentityToken = false;
        context.IncludeIdentityToken = false;
    }

    /// <summary>
    /// Whether the request's client registered idTokenOnRefresh; false without one. From the client read once per request
    /// (<see cref="TokenSigning.ClientOfRequestAsync"/>), so that <see cref="RefuseUnsignableSignIn"/> and this handler decide
    /// on the same snapshot.
    /// </summary>
    internal static async ValueTask<bool> WantsAsync(OpenIddictServerTransaction transaction, string? clientId, CancellationToken cancellationToken) =>
        await TokenSigning.ClientOfRequestAsync(transaction, clientId, cancellationToken) is { IdTokenOnRefresh: true };
}
