using OpenIddict.Abstractions;

namespace IdentityHub.Server.Registry;

/// <summary>
/// What a client has been issued: its authorizations (consents and the grants behind refresh tokens) and its
/// tokens (codes, access and refresh tokens), as OpenIddict stores them. Suspending a department or disabling
/// a client revokes them all, so that introspection answers <c>active: false</c> at once and no refresh token
/// works again, not even after the client is enabled again. Each revocation is one bulk UPDATE per table
/// (OpenIddict's EF Core stores use ExecuteUpdate), inside the caller's transaction if there is one.
/// JWT access tokens are self-contained: a department API that validates them offline against JWKS accepts
/// them until they expire (Oidc:AccessTokenLifetime, 15 minutes by default, or the client's own lifetime).
/// </summary>
public sealed class IssuedGrants(
    IOpenIddictAuthorizationManager authorizations,
    IOpenIddictTokenManager tokens,
    ILogger<IssuedGrants> logger)
{
    public async Task<(long Authorizations, long Tokens)> RevokeAsync(IReadOnlyCollection<string> applicationIds, string reason,
        CancellationToken cancellationToken)
    {
        var (authorizationCount, tokenCount) = (0L, 0L);
        foreach (var applicationId in applicationIds)
        {
            // Authorizations first: OpenIddict also refuses any token whose authorization is revoked.
            authorizationCount += await authorizations.RevokeByApplicationIdAsync(applicationId, cancellationToken);
            tokenCount += await tokens.RevokeByApplicationIdAsync(applicationId, cancellationToken);
        }

        logger.LogInformation("{Reason}: revoked {Authorizations} authorizations and {Tokens} tokens of {Clients} clients.",
            reason, authorizationCount, tokenCount, applicationIds.Count);
        return (authorizationCount, tokenCount);
    }
}
