using System.Collections.Concurrent;

namespace IdentityHub.Samples.DemoPortal;

/// <summary>
/// The portal's own record of its sessions, keyed by IdentityHub's session id (sid). The sign-in cookie alone
/// cannot be withdrawn from the browser, so a back-channel logout marks the sid ended here and the cookie check
/// refuses every cookie of that sid from the next request on. In memory: a real department app keeps this in its
/// database or cache, shared by all its nodes.
/// </summary>
public sealed class PortalSessions(TimeProvider clock)
{
    /// <summary>Ended entries are forgotten after this long (longer than any cookie of theirs lives).</summary>
    private static readonly TimeSpan Retention = TimeSpan.FromDays(1);

    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);

    public void SignedIn(string sessionId, string? subject) =>
        _sessions.AddOrUpdate(sessionId, _ => new Entry(subject, null), (_, existing) => existing with { Subject = subject ?? existing.Subject });

    /// <summary>Back-Channel Logout 1.0 section 2.7: end the sessions the token names (by sid, else every session of sub).</summary>
    public int End(string? sessionId, string? subject)
    {
        Prune();
        var now = clock.GetUtcNow();
        if (!string.IsNullOrEmpty(sessionId))
        {
            // Remembered even when unknown here (a notice that arrives after a restart, or before the sign-in completed).
            _sessions.AddOrUpdate(sessionId, _ => new Entry(subject, now), (_, existing) => existing with { EndedAt = existing.EndedAt ?? now });
            return 1;
        }

        var ended = 0;
        foreach (var (id, entry) in _sessions.Where(s => s.Value.Subject == subject && s.Value.EndedAt is null))
        {
            _sessions[id] = entry with { EndedAt = now };
            ended++;
        }

        return ended;
    }

    public bool HasEnded(string? sessionId) =>
        sessionId is not null && _sessions.TryGetValue(sessionId, out var entry) && entry.EndedAt is not null;

    private void Prune()
    {
        var threshold = clock.GetUtcNow() - Retention;
        foreach (var (id, entry) in _sessions.Where(s => s.Value.EndedAt < threshold))
        {
            _sessions.TryRemove(id, out _);
        }
    }

    private sealed record Entry(string? Subject, DateTimeOffset? EndedAt);
}
