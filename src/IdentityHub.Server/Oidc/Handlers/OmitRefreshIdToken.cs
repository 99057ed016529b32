using IdentityHub.Server.Registry;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using Microsoft.AspNetCore;
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
    /// Whether the request's client registered idTokenOnRefresh (from <see cref="ClientCache"/>); false without one. Read
    /// once per request and kept in the transaction, so that <see cref="RefuseUnsignableSignIn"/> and this handler decide
    /// on the same answer even if the registry changes in between.
    /// </summary>
    internal static async ValueTask<bool> WantsAsync(OpenIddictServerTransaction transaction, string? clientId, CancellationToken cancellationToken)
    {
        if (transaction.Properties.TryGetValue(TransactionProperty, out var kept) && kept is (string keptFor, bool known) && keptFor == clientId)
        {
            return known;
        }

        var wants = !string.IsNullOrEmpty(clientId)
            && transaction.GetHttpRequest()?.HttpContext.RequestServices is { } services
            && await services.GetRequiredService<ClientCache>().FindAsync(clientId, services, cancellationToken) is { IdTokenOnRefresh: true };
        if (clientId is not null)
        {
            transaction.Properties[TransactionProperty] = (clientId, wants);
        }

        return wants;
    }

    private const string TransactionProperty = ".identityhub_id_token_on_refresh";
}
