using System.Collections.Concurrent;
using System.Security.Claims;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc.Revocation;

/// <summary>
/// This node's copy of the <see cref="AccessTokenRevocation"/> rows that have not expired: the check behind
/// <see cref="Handlers.RejectRevokedAccessTokens"/>, a few dictionary lookups per validated access token. Rows reach
/// it when this node writes them (<see cref="AccessTokenRevocations"/>) and, from the other nodes, when
/// <see cref="RevokedAccessTokenSync"/> reads the table (at start, on the "access-token-revocations" signal, and
/// every <see cref="OidcOptions.RevocationRefreshInterval"/>).
/// </summary>
public sealed class RevokedAccessTokens(TimeProvider clock)
{
    /// <summary>
    /// A cutoff covers the tokens issued up to the second of the revocation plus this margin: <c>iat</c> has whole
    /// seconds, and another node's clock may run a little ahead. No new token can be issued under a revoked
    /// authorization, ended session, locked account or disabled client, so the margin revokes nothing that counts.
    /// </summary>
    public static readonly TimeSpan CutoffMargin = TimeSpan.FromSeconds(1);

    private readonly record struct Entry(long IssuedUpTo, DateTime ExpiresAtUtc);

    private readonly ConcurrentDictionary<string, Entry> _tokenIds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry> _authorizations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry> _clients = new(StringComparer.Ordinal);

    public int Count => _tokenIds.Count + _authorizations.Count + _sessions.Count + _clients.Count;

    public void Add(AccessTokenRevocation revocation)
    {
        var map = revocation.Kind switch
        {
            RevocationKinds.TokenId => _tokenIds,
            RevocationKinds.Authorization => _authorizations,
            RevocationKinds.Session => _sessions,
            RevocationKinds.Client => _clients,
            _ => null,
        };
        if (map is null)
        {
            return;
        }

        var revokedAt = new DateTimeOffset(DateTime.SpecifyKind(revocation.RevokedAtUtc, DateTimeKind.Utc));
        var entry = new Entry((revokedAt + CutoffMargin).ToUnixTimeSeconds(), DateTime.SpecifyKind(revocation.ExpiresAtUtc, DateTimeKind.Utc));
        map.AddOrUpdate(revocation.Key, entry, (_, old) => new Entry(Math.Max(old.IssuedUpTo, entry.IssuedUpTo),
            old.ExpiresAtUtc > entry.ExpiresAtUtc ? old.ExpiresAtUtc : entry.ExpiresAtUtc));
    }

    /// <summary>Why this access token no longer counts, or null when it does.</summary>
    public string? Refusal(ClaimsPrincipal principal)
    {
        if (_tokenIds.IsEmpty && _authorizations.IsEmpty && _sessions.IsEmpty && _clients.IsEmpty)
        {
            return null;
        }

        // OpenIddict restores oi_crt_dt from iat (whole seconds); a token without it is as old as can be.
        return Refusal(principal.GetClaim(Claims.JwtId), principal.GetCreationDate()?.ToUnixTimeSeconds() ?? long.MinValue,
            principal.GetAuthorizationId(), principal.GetClaim(HubClaims.SessionId), principal.GetPresenters(), principal.GetClaim(Claims.ClientId));
    }

    /// <summary>
    /// The same, from the token's own values (the introspection fast path reads them from the JWT): its jti, iat (seconds),
    /// authorization id (oi_au_id), session id (sid), presenters (oi_prst) and client_id.
    /// </summary>
    public string? Refusal(string? tokenId, long issuedAt, string? authorizationId, string? sessionId, IEnumerable<string> presenters,
        string? clientId)
    {
        if (_tokenIds.IsEmpty && _authorizations.IsEmpty && _sessions.IsEmpty && _clients.IsEmpty)
        {
            return null;
        }

        if (!_tokenIds.IsEmpty && tokenId is { } jti && _tokenIds.ContainsKey(jti))
        {
            return "The access token has been revoked.";
        }

        if (Covers(_authorizations, authorizationId, issuedAt))
        {
            return "The authorization of the access token has been revoked.";
        }

        if (Covers(_sessions, sessionId, issuedAt))
        {
            return "The session of the access token has ended.";
        }

        if (!_clients.IsEmpty)
        {
            foreach (var client in presenters)
            {
                if (Covers(_clients, client, issuedAt))
                {
                    return "The access tokens of the client have been revoked.";
                }
            }

            if (Covers(_clients, clientId, issuedAt))
            {
                return "The access tokens of the client have been revoked.";
            }
        }

        return null;
    }

    /// <summary>Forgets what has expired (the tokens it covered are refused by their own exp by now).</summary>
    public void Prune()
    {
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var map in new[] { _tokenIds, _authorizations, _sessions, _clients })
        {
            foreach (var (key, entry) in map)
            {
                if (entry.ExpiresAtUtc <= now)
                {
                    map.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                }
            }
        }
    }

    private static bool Covers(ConcurrentDictionary<string, Entry> map, string? key, long issuedAt) =>
        !map.IsEmpty && !string.IsNullOrEmpty(key) && map.TryGetValue(key, out var entry) && issuedAt <= entry.IssuedUpTo;
}
