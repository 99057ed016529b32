using System.Text.Json;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Sessions;

namespace IdentityHub.Server.Scale;

/// <summary>
/// The SSO session store with Redis in front of the database (<see cref="ISessionStore"/> asks for this): the
/// per-request cookie check (<see cref="FindAsync"/>) reads Redis, and the database only on a miss. Every change
/// reaches the cache before the call returns, so the next request on any node sees it: ending a session stores the
/// ended state over the entry, recorded activity replaces the entry only if it is still the one this request read
/// (an end on another node meanwhile wins), a (re)start drops it. Without Redis every call goes to the database.
/// </summary>
public sealed class CachedSessionStore(EfSessionStore inner, SharedCache cache) : ISessionStore
{
    private readonly Dictionary<string, string> _read = new(StringComparer.Ordinal);

    public async Task<SessionState?> FindAsync(string sessionId, CancellationToken cancellationToken)
    {
        var cached = await cache.GetAsync(SharedCache.Sessions, sessionId);
        if (cached.Value is not null)
        {
            _read[sessionId] = cached.Value;
            return JsonSerializer.Deserialize<SessionState>(cached.Value);
        }

        var state = await inner.FindAsync(sessionId, cancellationToken);
        if (state is not null && cached.Generation is not null)
        {
            var json = JsonSerializer.Serialize(state);
            _read[sessionId] = json;
            await cache.AddAsync(SharedCache.Sessions, cached.Generation, sessionId, json);
        }

        return state;
    }

    public async Task TouchAsync(string sessionId, DateTime nowUtc, CancellationToken cancellationToken)
    {
        await inner.TouchAsync(sessionId, nowUtc, cancellationToken);
        if (_read.TryGetValue(sessionId, out var json) && JsonSerializer.Deserialize<SessionState>(json) is { EndedAtUtc: null } state)
        {
            await cache.ReplaceAsync(SharedCache.Sessions, sessionId, json, JsonSerializer.Serialize(state with { LastActivityAtUtc = nowUtc }));
        }
    }

    public async Task StartAsync(SsoSession session, bool keepsSessionId, AuditActor actor, CancellationToken cancellationToken)
    {
        await inner.StartAsync(session, keepsSessionId, actor, cancellationToken);
        await cache.RemoveAsync(SharedCache.Sessions, session.Id);
    }

    public void StageParticipant(SessionParticipant participant) => inner.StageParticipant(participant);

    public Task<IReadOnlyList<SessionClient>> ClientsAsync(string sessionId, CancellationToken cancellationToken) =>
        inner.ClientsAsync(sessionId, cancellationToken);

    public Task<IReadOnlyList<SessionSummary>> ListActiveAsync(string userId, DateTime idleSinceUtc, DateTime createdSinceUtc,
        CancellationToken cancellationToken) =>
        inner.ListActiveAsync(userId, idleSinceUtc, createdSinceUtc, cancellationToken);

    public Task<IReadOnlyList<string>> OpenSessionIdsAsync(string userId, CancellationToken cancellationToken) =>
        inner.OpenSessionIdsAsync(userId, cancellationToken);

    public async Task<EndedSession?> EndAsync(string sessionId, SessionEndReason reason, AuditActor actor, DateTime nowUtc,
        CancellationToken cancellationToken)
    {
        var ended = await inner.EndAsync(sessionId, reason, actor, nowUtc, cancellationToken);
        // Written whether this call ended it or another did: the committed state, over anything a concurrent reader cached.
        if (await inner.FindAsync(sessionId, cancellationToken) is { } state)
        {
            await cache.PutAsync(SharedCache.Sessions, sessionId, JsonSerializer.Serialize(state));
        }

        return ended;
    }
}
