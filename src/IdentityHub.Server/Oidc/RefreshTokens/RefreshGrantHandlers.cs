using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using Protection = OpenIddict.Server.OpenIddictServerHandlers.Protection;

namespace IdentityHub.Server.Oidc.RefreshTokens;

/// <summary>
/// The token entries of the refresh_token grant at the token endpoint (RFC 6749 section 6), with rotation and reuse
/// detection (RFC 9700 section 4.14.2), done by <see cref="RefreshTokenEntries"/> in place of OpenIddict's generic
/// handlers for this one case, with the same outcomes:
/// <list type="bullet">
/// <item><see cref="RestoreRefreshTokenEntry"/> (in place of RestoreTokenEntryProperties): the presented token's entry
/// must exist and not be a reference token; the principal takes its dates, authorization id, token id and type from it.</item>
/// <item><see cref="ValidateRefreshTokenEntry"/> (in place of ValidateTokenEntry and ValidateAuthorizationEntry): a
/// redeemed entry is reuse: the authorization, its token entries and its access tokens are revoked and the request is
/// refused; an entry that is not valid, or whose authorization is gone or not valid, is refused.</item>
/// <item><see cref="RedeemRefreshTokenEntry"/> (in place of RedeemTokenEntry): a conditional UPDATE. OpenIddict
/// ignores a failed redemption of a refresh token (it allows a reuse leeway), so that two concurrent requests with
/// the same token both got new tokens; here the one that did not redeem it is reuse, as above.</item>
/// <item><see cref="CreateRefreshTokenEntry"/> (in place of CreateTokenEntry, for the new refresh token): one INSERT,
/// sent in one command with the redemption's UPDATE when the response rotates the refresh token (the redemption is
/// deferred to it; <see cref="CompleteRefreshTokenRedemption"/> redeems alone if that did not happen).</item>
/// </list>
/// Everything else (other grants, other endpoints: introspection and revocation of refresh tokens, codes) keeps
/// OpenIddict's handlers, which are filtered off only for this case (<see cref="RefreshGrantRegistration"/>).
/// </summary>
public static class RefreshGrant
{
    /// <summary>The transaction property holding the entry read by <see cref="RestoreRefreshTokenEntry"/>.</summary>
    public const string EntryProperty = "ih.refresh_token_entry";

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
    /// Someone else redeemed (or revoked) the presented token since it was validated: a concurrent use of the same refresh
    /// token. If it was redeemed, that is reuse (the grant is revoked).
    /// </summary>
    internal static async Task OnLostRedemptionAsync(RefreshTokenEntries entries, IOpenIddictTokenManager tokens, string tokenId, ILogger logger)
    {
        var entry = await entries.FindAsync(tokenId, CancellationToken.None);
        if (entry?.Status == Statuses.Redeemed)
        {
            await RevokeGrantAsync(entries, tokens, entry.AuthorizationId, tokenId, logger);
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

/// <summary>Reads the presented refresh token's entry (and its authorization's status) once; see <see cref="RefreshGrant"/>.</summary>
public sealed class RestoreRefreshTokenEntry(RefreshTokenEntries entries) : IOpenIddictServerHandler<ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .AddFilter<RefreshGrantRegistration.RequireGrantToken>()
            .UseScopedHandler<RestoreRefreshTokenEntry>()
            .SetOrder(Protection.RestoreTokenEntryProperties.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Principal is null || context.Principal.GetTokenId() is not { Length: > 0 } tokenId)
        {
            return;
        }

        var entry = await entries.FindAsync(tokenId, context.CancellationToken);
        // OpenIddict's RestoreTokenEntryProperties: an unknown entry, or one of a reference token presented as a JWT.
        if (entry is null || (!context.IsReferenceToken && entry.HasReferenceId))
        {
            context.Reject(Errors.InvalidToken, "The specified refresh token is invalid.");
            return;
        }

        context.Transaction.SetProperty(RefreshGrant.EntryProperty, entry);
        context.AuthorizationId = entry.AuthorizationId;
        context.TokenId = entry.Id;
        context.Principal
            .SetCreationDate(entry.CreationDate is { } created ? new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)) : null)
            .SetExpirationDate(entry.ExpirationDate is { } expires ? new DateTimeOffset(DateTime.SpecifyKind(expires, DateTimeKind.Utc)) : null)
            .SetAuthorizationId(entry.AuthorizationId)
            .SetTokenId(entry.Id)
            .SetTokenType(entry.Type);
    }
}

/// <summary>The entry's and its authorization's status, reuse detection; see <see cref="RefreshGrant"/>.</summary>
public sealed class ValidateRefreshTokenEntry(RefreshTokenEntries entries, IOpenIddictTokenManager tokens, ILogger<ValidateRefreshTokenEntry> logger)
    : IOpenIddictServerHandler<ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .AddFilter<RefreshGrantRegistration.RequireGrantToken>()
            .UseScopedHandler<ValidateRefreshTokenEntry>()
            .SetOrder(Protection.ValidateTokenEntry.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Transaction.GetProperty<RefreshTokenEntry>(RefreshGrant.EntryProperty) is not { } entry)
        {
            return;
        }

        switch (entry.Status)
        {
            case Statuses.Redeemed:
                // No reuse leeway (OidcExtensions: SetRefreshTokenReuseLeeway(null)).
                await RefreshGrant.RevokeGrantAsync(entries, tokens, entry.AuthorizationId, entry.Id, logger);
                context.Reject(Errors.InvalidToken, "The specified refresh token has already been redeemed.");
                return;
            case Statuses.Valid:
                break;
            default:
                context.Reject(Errors.InvalidToken, "The specified refresh token is no longer valid.");
                return;
        }

        // OpenIddict's ValidateAuthorizationEntry: a refresh token whose authorization was revoked (an ended session,
        // revoked consent, a disabled client) or pruned is refused.
        if (entry.AuthorizationId is not null && entry.AuthorizationStatus != Statuses.Valid)
        {
            context.Reject(Errors.InvalidToken, "The authorization associated with the refresh token is no longer valid.");
        }
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
            await RefreshGrant.OnLostRedemptionAsync(entries, tokens, tokenId, logger);
            context.Reject(Errors.InvalidGrant, RefreshGrant.AlreadyRedeemed);
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
                await RefreshGrant.OnLostRedemptionAsync(entries, tokens, redeemedId, logger);
                // OpenIddict's GenerateRefreshToken carries this rejection to the sign-in, which answers it as an error.
                context.Reject(Errors.InvalidGrant, RefreshGrant.AlreadyRedeemed);
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
            await RefreshGrant.OnLostRedemptionAsync(entries, tokens, tokenId, logger);
            context.Reject(Errors.InvalidGrant, RefreshGrant.AlreadyRedeemed);
        }
    }
}
