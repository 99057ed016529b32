using IdentityHub.Server.Audit;

namespace IdentityHub.Server.Sessions;

/// <summary>What the sign-in cookie check needs to know about a session: the hot path, one key lookup.</summary>
public sealed record SessionState(string Id, string UserId, DateTime CreatedAtUtc, DateTime LastActivityAtUtc, DateTime? EndedAtUtc);

/// <summary>A department app of a session, with its logout endpoints as registered now.</summary>
public sealed record SessionClient(
    string ClientId,
    string? DisplayName,
    string Subject,
    string Issuer,
    IReadOnlyList<string> AuthorizationIds,
    string? BackChannelLogoutUri,
    string? FrontChannelLogoutUri);

/// <summary>An active session as its owner (or an administrator) sees it.</summary>
public sealed record SessionSummary(
    string Id,
    DateTime AuthenticatedAtUtc,
    string Methods,
    DateTime CreatedAtUtc,
    DateTime LastActivityAtUtc,
    string? UserAgent,
    string? IpAddress,
    IReadOnlyList<string> Apps);

/// <summary>A session this call ended, and the apps that took part in it.</summary>
public sealed record EndedSession(string SessionId, string UserId, IReadOnlyList<SessionClient> Clients);

/// <summary>
/// Storage of SSO sessions. The database implementation (<see cref="EfSessionStore"/>) is the source of truth;
/// <see cref="FindAsync"/> is called on every request that carries a sign-in cookie, so a cache in front of it
/// (Redis, the scale-out issue) must drop an entry when <see cref="EndAsync"/> ends the session.
/// </summary>
public interface ISessionStore
{
    Task<SessionState?> FindAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Records activity (called at most once per <see cref="SessionOptions.ActivityResolution"/>).</summary>
    Task TouchAsync(string sessionId, DateTime nowUtc, CancellationToken cancellationToken);

    /// <summary>
    /// Creates the session, or, for a sign-in that keeps its sid (<paramref name="keepsSessionId"/>: step-up, the same
    /// person signing in again in this browser), updates auth_time and amr. A new sid (128 random bits) is inserted
    /// without looking it up first.
    /// </summary>
    Task StartAsync(SsoSession session, bool keepsSessionId, AuditActor actor, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the participant to the request's unit of work without saving it: the next save of the request's database
    /// context (the ad-hoc authorization's, <see cref="SessionService.JoinAsync"/>) inserts it in the same batch.
    /// </summary>
    void StageParticipant(SessionParticipant participant);

    Task<IReadOnlyList<SessionClient>> ClientsAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Sessions of a person that have not ended, with activity since <paramref name="idleSinceUtc"/> and created since <paramref name="createdSinceUtc"/>.</summary>
    Task<IReadOnlyList<SessionSummary>> ListActiveAsync(string userId, DateTime idleSinceUtc, DateTime createdSinceUtc, CancellationToken cancellationToken);

    /// <summary>Ids of a person's sessions that have not been ended (expired ones included: ending them revokes their tokens).</summary>
    Task<IReadOnlyList<string>> OpenSessionIdsAsync(string userId, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the session once: marks it, queues a back-channel logout notice for every app with a back-channel
    /// URI and adds the audit event, in one transaction. Null when the session is unknown or had ended already.
    /// </summary>
    Task<EndedSession?> EndAsync(string sessionId, SessionEndReason reason, AuditActor actor, DateTime nowUtc, CancellationToken cancellationToken);
}
