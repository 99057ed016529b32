using IdentityHub.Server.Oidc.Revocation;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Registry;

/// <summary>
/// What a client has been issued: its authorizations (consents and the grants behind refresh tokens) and its
/// tokens (codes, access and refresh tokens), as OpenIddict stores them. Suspending a department or disabling
/// a client revokes them all, so that introspection answers <c>active: false</c> at once and no refresh token
/// works again, not even after the client is enabled again. Each revocation is one bulk UPDATE per table
/// (OpenIddict's EF Core stores use ExecuteUpdate), inside the caller's transaction if there is one.
/// Access tokens have no token entries: every access token of these clients issued until now is revoked through
/// <see cref="AccessTokenRevocations"/>, so that userinfo and introspection refuse them at once. They are self-contained
/// JWTs all the same: a department API that validates them offline against JWKS accepts them until they expire
/// (Oidc:AccessTokenLifetime, 15 minutes by default).
/// </summary>
public sealed class IssuedGrants(
    IOpenIddictApplicationManager applications,
    IOpenIddictAuthorizationManager authorizations,
    IOpenIddictTokenManager tokens,
    AccessTokenRevocations accessTokens,
    ILogger<IssuedGrants> logger)
{
    public async Task<(long Authorizations, long Tokens)> RevokeAsync(IReadOnlyCollection<string> applicationIds, string reason,
        CancellationToken cancellationToken)
    {
        var (authorizationCount, tokenCount) = (0L, 0L);
        var clientIds = new List<string>();
        foreach (var applicationId in applicationIds)
        {
            if (await applications.FindByIdAsync(applicationId, cancellationToken) is { } application
                && await applications.GetClientIdAsync(application, cancellationToken) is { } clientId)
            {
                clientIds.Add(clientId);
            }
        }

        await accessTokens.RevokeIssuedUntilNowAsync(RevocationKinds.Client, clientIds, cancellationToken);
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
