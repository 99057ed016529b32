using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using Protection = OpenIddict.Server.OpenIddictServerHandlers.Protection;

namespace IdentityHub.Server.Oidc.RefreshTokens;

/// <summary>
/// The token entries of the refresh_token grant at the token endpoint (RFC 6749 section 6), with rotation and reuse
/// detection (RFC 9700 section 4.14.2), done by <see cref="RefreshTokenEntries"/> in place of OpenIddict's generic
/// handlers for this one case, with the same outcomes and without a read of the entry on the way of a success:
/// <list type="bullet">
/// <item><see cref="RestoreRefreshTokenEntry"/> (in place of RestoreTokenEntryProperties, ValidateTokenEntry and
/// ValidateAuthorizationEntry): no database read. The token id, authorization id, type and dates come from the token
/// itself (signed and encrypted by this server, written with the same values as its entry); a token without an id is
/// refused. Whether the entry is still valid and its authorization too is decided by the redemption.</item>
/// <item><see cref="RedeemRefreshTokenEntry"/> (in place of RedeemTokenEntry): the redemption, one conditional UPDATE
/// that succeeds only for a valid, self-contained refresh-token entry whose authorization (if any) is valid. When it
/// does not, the entry is read to say why: unknown, reuse of a redeemed one (the authorization, its token entries and
/// its access tokens are revoked), revoked, or its authorization no longer valid; the request is refused. OpenIddict
/// ignores a failed redemption of a refresh token (it allows a reuse leeway), so that two concurrent requests with
/// the same token both got new tokens; here the one that did not redeem it is reuse.</item>
/// <item><see cref="CreateRefreshTokenEntry"/> (in place of CreateTokenEntry, for the new refresh token): one INSERT,
/// sent in one command with the redemption's UPDATE when the response rotates the refresh token (the redemption is
/// deferred to it; <see cref="CompleteRefreshTokenRedemption"/> redeems alone if that did not happen).</item>
/// </list>
/// A successful refresh thus costs the token entries one round trip. Since the entry is no longer read before the
/// token endpoint's own checks (<see cref="TokenEndpoint"/>: the account, the session, the client, the mandate), a
/// presented token that is not valid any more is refused at the sign-in, after those checks, with the same error
/// (invalid_grant) and the same reuse detection; nothing issued on the way leaves the server.
/// Everything else (other grants, other endpoints: introspection and revocation of refresh tokens, codes) keeps
/// OpenIddict's handlers, which are filtered off only for this case (<see cref="RefreshGrantRegistration"/>).
/// </summary>
public static class RefreshGrant
{
    /// <summary>Whether this validation is of the refresh token presented in a refresh_token grant at the token endpoint.</summary>
    public static bool IsGrantToken(ValidateTokenContext context) =>
        context.EndpointType == OpenIddictServerEndpointType.Token
        && context.Request is { } request && request.IsRefreshTokenGrantType()
        && context.ValidTokenTypes.Count == 1 && context.ValidTokenTypes.Contains(TokenTypeIdentifiers.RefreshToken);

    public static bool IsGrant(BaseContext context, OpenIddictRequest? request) =>
        context.EndpointType == OpenIddictServerEndpointType.Token && request is not null && request.IsRefreshTokenGrantType();

    /// <summary>The transaction property holding the id of the presented refresh token whose redemption is pending.</summary>
    public const string PendingRedemptionProperty = "ih.refresh_token_pending_redemption";

    public const string AlreadyRedeemed = "The specified refresh token has already been redeemed.";

    /// <summary>
    /// The presented token could not be redeemed: reads its entry to say why (OpenIddict's ValidateTokenEntry and
    /// ValidateAuthorizationEntry) and returns the error description. A redeemed one is reuse (RFC 9700 section 4.14.2:
    /// presented again, or concurrently with another request that redeemed it first): the grant is revoked.
    /// </summary>
    internal static async Task<string> ExplainUnredeemedAsync(RefreshTokenEntries entries, IOpenIddictTokenManager tokens, string tokenId, ILogger logger)
    {
        // Not cancelled with the request: a client that gives up must not stop the revocation half way.
        var entry = await entries.FindAsync(tokenId, CancellationToken.None);
        switch (entry?.Status)
        {
            case null:
                return "The specified refresh token is invalid.";
            case Statuses.Redeemed:
                // No reuse leeway (OidcExtensions: SetRefreshTokenReuseLeeway(null)).
                await RevokeGrantAsync(entries, tokens, entry.AuthorizationId, tokenId, logger);
                return AlreadyRedeemed;
            case Statuses.Valid when entry.AuthorizationId is not null && entry.AuthorizationStatus != Statuses.Valid:
                // A refresh token whose authorization was revoked (an ended session, revoked consent, a disabled client).
                return "The authorization associated with the refresh token is no longer valid.";
            default:
                // Revoked, or (never written by this server) of another type or a reference token's entry.
                return "The specified refresh token is no longer valid.";
        }
    }

    /// <summary>Reuse (RFC 9700 section 4.14.2): revokes the authorization, its token entries and its access tokens.</summary>
    internal static async Task RevokeGrantAsync(RefreshTokenEntries entries, IOpenIddictTokenManager tokens, string? authorizationId,
        string tokenId, ILogger logger)
    {
        if (string.IsNullOrEmpty(authorizationId))
        {
            return;
        }

        try
        {
            // Not cancelled with the request: a client that gives up must not stop the revocation half way.
            await entries.RevokeAuthorizationAsync(authorizationId, CancellationToken.None);
            // HubTokenManager: the authorization's access tokens (no entries) first, then its token entries.
            var count = await tokens.RevokeByAuthorizationIdAsync(authorizationId, CancellationToken.None);
            logger.LogWarning("Refresh token {TokenId} was presented again after its redemption: authorization {AuthorizationId} and its {Count} token entries revoked",
                tokenId, authorizationId, count);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            logger.LogError(e, "Refresh token {TokenId} was reused but authorization {AuthorizationId} could not be revoked", tokenId, authorizationId);
        }
    }
}

/// <summary>
/// The presented refresh token's entry properties, from the token itself (no database read); see <see cref="RefreshGrant"/>.
/// </summary>
public sealed class RestoreRefreshTokenEntry : IOpenIddictServerHandler<ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .AddFilter<RefreshGrantRegistration.RequireGrantToken>()
            .UseSingletonHandler<RestoreRefreshTokenEntry>()
            .SetOrder(Protection.RestoreTokenEntryProperties.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Principal is null)
        {
            return ValueTask.CompletedTask;
        }

        // Every refresh token this server issues has an entry and carries its id: one without could not be redeemed,
        // so it is refused rather than let through unrotated.
        if (context.Principal.GetTokenId() is not { Length: > 0 } tokenId)
        {
            context.Reject(Errors.InvalidToken, "The specified refresh token is invalid.");
            return ValueTask.CompletedTask;
        }

        context.TokenId = tokenId;
        context.AuthorizationId = context.Principal.GetAuthorizationId();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Redeems the presented refresh token; see <see cref="RefreshGrant"/>. Runs once OpenIddict has decided which tokens
/// the response carries (after EvaluateGeneratedTokens, before any token is generated): when a new refresh token
/// follows (rotation, the usual case) the redemption is left to <see cref="CreateRefreshTokenEntry"/>, which redeems
/// and inserts the new entry in one round trip; otherwise (the refresh request narrowed the scopes without
/// offline_access) it is one conditional UPDATE here.
/// </summary>
public sealed class RedeemRefreshTokenEntry(RefreshTokenEntries entries, IOpenIddictTokenManager tokens, TimeProvider clock,
    ILogger<RedeemRefreshTokenEntry> logger) : IOpenIddictServerHandler<ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .AddFilter<RefreshGrantRegistration.RequireGrantSignIn>()
            .UseScopedHandler<RedeemRefreshTokenEntry>()
            .SetOrder(OpenIddictServerHandlers.EvaluateGeneratedTokens.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        var authentication = context.Transaction.GetProperty<ProcessAuthenticationContext>(typeof(ProcessAuthenticationContext).FullName!)
            ?? throw new InvalidOperationException("The authentication context cannot be found.");
        if (authentication.RefreshTokenPrincipal?.GetTokenId() is not { Length: > 0 } tokenId)
        {
            return;
        }

        if (context.GenerateRefreshToken && !context.Options.UseReferenceRefreshTokens)
        {
            // Redeemed together with the new entry's INSERT (CreateRefreshTokenEntry); CompleteRefreshTokenRedemption
            // redeems it alone if that did not happen.
            context.Transaction.SetProperty(RefreshGrant.PendingRedemptionProperty, tokenId);
            return;
        }

        // Not cancelled with the request: once the client has sent the token, its redemption must not be left undone.
        if (!await entries.TryRedeemAsync(tokenId, clock.GetUtcNow().UtcDateTime, CancellationToken.None))
        {
            context.Reject(Errors.InvalidGrant, await RefreshGrant.ExplainUnredeemedAsync(entries, tokens, tokenId, logger));
        }
    }
}

/// <summary>
/// Stores the entry of the new refresh token, redeeming the presented one in the same round trip (one conditional
/// UPDATE and one INSERT in one command); see <see cref="RefreshGrant"/>.
/// </summary>
public sealed class CreateRefreshTokenEntry(RefreshTokenEntries entries, IOpenIddictApplicationManager applications,
    IOpenIddictTokenManager tokens, TimeProvider clock, ILogger<CreateRefreshTokenEntry> logger)
    : IOpenIddictServerHandler<GenerateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenEntryCreated>()
            .AddFilter<RefreshGrantRegistration.RequireGrantRefreshToken>()
            .UseScopedHandler<CreateRefreshTokenEntry>()
            .SetOrder(Protection.CreateTokenEntry.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(GenerateTokenContext context)
    {
        string? applicationId = null;
        if (!string.IsNullOrEmpty(context.ClientId))
        {
            // HubApplicationManager answers from the client cache.
            var application = await applications.FindByClientIdAsync(context.ClientId, context.CancellationToken)
                ?? throw new InvalidOperationException("The client application cannot be found.");
            applicationId = await applications.GetIdAsync(application, context.CancellationToken);
        }

        var id = Guid.NewGuid().ToString();
        var principal = context.Principal;
        if (context.Transaction.GetProperty<string>(RefreshGrant.PendingRedemptionProperty) is { } redeemedId)
        {
            context.Transaction.SetProperty<string>(RefreshGrant.PendingRedemptionProperty, null);
            // Not cancelled with the request: once the client has sent the token, its redemption must not be left undone.
            if (!await entries.TryRedeemAndInsertAsync(redeemedId, clock.GetUtcNow().UtcDateTime, id, applicationId,
                    principal.GetAuthorizationId(), principal.GetClaim(Claims.Subject), principal.GetCreationDate()?.UtcDateTime,
                    principal.GetExpirationDate()?.UtcDateTime, CancellationToken.None))
            {
                // OpenIddict's GenerateRefreshToken carries this rejection to the sign-in, which answers it as an error.
                context.Reject(Errors.InvalidGrant, await RefreshGrant.ExplainUnredeemedAsync(entries, tokens, redeemedId, logger));
                return;
            }
        }
        else
        {
            await entries.InsertAsync(id, applicationId, principal.GetAuthorizationId(), principal.GetClaim(Claims.Subject),
                principal.GetCreationDate()?.UtcDateTime, principal.GetExpirationDate()?.UtcDateTime, context.CancellationToken);
        }

        principal.SetTokenId(id);
    }
}

/// <summary>
/// The safety net of the deferred redemption: a presented refresh token whose redemption was left to
/// <see cref="CreateRefreshTokenEntry"/> and that is still not redeemed once the refresh token was generated is redeemed
/// here, alone, before any response (a sign-in never answers with the presented token left valid).
/// </summary>
public sealed class CompleteRefreshTokenRedemption(RefreshTokenEntries entries, IOpenIddictTokenManager tokens, TimeProvider clock,
    ILogger<CompleteRefreshTokenRedemption> logger) : IOpenIddictServerHandler<ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .AddFilter<RefreshGrantRegistration.RequireGrantSignIn>()
            .UseScopedHandler<CompleteRefreshTokenRedemption>()
            .SetOrder(OpenIddictServerHandlers.GenerateRefreshToken.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.Transaction.GetProperty<string>(RefreshGrant.PendingRedemptionProperty) is not { } tokenId)
        {
            return;
        }

        context.Transaction.SetProperty<string>(RefreshGrant.PendingRedemptionProperty, null);
        if (!await entries.TryRedeemAsync(tokenId, clock.GetUtcNow().UtcDateTime, CancellationToken.None))
        {
            context.Reject(Errors.InvalidGrant, await RefreshGrant.ExplainUnredeemedAsync(entries, tokens, tokenId, logger));
        }
    }
}
