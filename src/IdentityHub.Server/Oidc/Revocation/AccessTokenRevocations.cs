using IdentityHub.Server.Data;
using IdentityHub.Server.Scale;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Oidc.Revocation;

/// <summary>
/// Revokes access tokens that have no token entry: writes an <see cref="AccessTokenRevocation"/> row (its own unit of
/// work, a context of its own, so nothing of the caller's is saved with it), adds it to this node's
/// <see cref="RevokedAccessTokens"/> before returning (the next request here refuses the token), then signals the
/// other nodes, which read the new rows at once (<see cref="RevokedAccessTokenSync"/>; a lost signal is caught up by
/// their periodic read, <see cref="OidcOptions.RevocationRefreshInterval"/>).
/// </summary>
public sealed class AccessTokenRevocations(
    IServiceScopeFactory scopes,
    RevokedAccessTokens revoked,
    IClusterSignals signals,
    IOptions<OidcOptions> options,
    TimeProvider clock,
    ILogger<AccessTokenRevocations> logger)
{
    public const string Signal = "access-token-revocations";

    /// <summary>One access token (RFC 7009), by its jti, until it expires.</summary>
    public Task RevokeTokenAsync(string tokenId, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var until = (expiresAt ?? now + options.Value.AccessTokenLifetime) + RevokedAccessTokens.CutoffMargin;
        return SaveAsync(RevocationKinds.TokenId, [tokenId], now, until, cancellationToken);
    }

    /// <summary>
    /// Every access token issued until now under these keys (<see cref="RevocationKinds"/>: authorization ids, session
    /// ids or client ids), until the last of them has expired.
    /// </summary>
    public Task RevokeIssuedUntilNowAsync(string kind, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var until = now + options.Value.AccessTokenLifetime + RevokedAccessTokens.CutoffMargin + RevokedAccessTokens.CutoffMargin;
        return SaveAsync(kind, keys, now, until, cancellationToken);
    }

    private async Task SaveAsync(string kind, IEnumerable<string> keys, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var rows = keys.Where(k => !string.IsNullOrEmpty(k) && k.Length <= AccessTokenRevocation.KeyMaxLength).Distinct(StringComparer.Ordinal)
            .Select(k => new AccessTokenRevocation { Kind = kind, Key = k, RevokedAtUtc = now.UtcDateTime, ExpiresAtUtc = until.UtcDateTime })
            .ToList();
        if (rows.Count == 0)
        {
            return;
        }

        // This node refuses the tokens from now on, even if the write below fails (then only until a restart).
        foreach (var row in rows)
        {
            revoked.Add(row);
        }

        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
            db.AccessTokenRevocations.AddRange(rows);
            // Not cancelled with the request: a revocation half done must still reach the other nodes.
            await db.SaveChangesAsync(CancellationToken.None);
        }

        try
        {
            await signals.PublishAsync(Signal);
        }
        catch (Exception e)
        {
            // The other nodes read the table on their own schedule as well.
            logger.LogWarning(e, "Could not signal {Count} access token revocations", rows.Count);
        }
    }
}
