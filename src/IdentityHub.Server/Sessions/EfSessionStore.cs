using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Sessions;

/// <summary>Sessions in the server's database (SsoSessions, SsoSessionParticipants, LogoutNotices).</summary>
public sealed class EfSessionStore(IdentityHubDbContext db, IAuditLog audit, SessionQueries queries) : ISessionStore
{
    public Task<SessionState?> FindAsync(string sessionId, CancellationToken cancellationToken) =>
        queries.Find(db, sessionId, cancellationToken);

    public Task TouchAsync(string sessionId, DateTime nowUtc, CancellationToken cancellationToken) =>
        db.Set<SsoSession>()
            .Where(s => s.Id == sessionId && s.LastActivityAtUtc < nowUtc)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.LastActivityAtUtc, nowUtc), cancellationToken);

    public async Task StartAsync(SsoSession session, bool keepsSessionId, AuditActor actor, CancellationToken cancellationToken)
    {
        // A new sid cannot exist yet (128 random bits; the primary key refuses a collision): one insert, no lookup first.
        var existing = keepsSessionId ? await db.Set<SsoSession>().SingleOrDefaultAsync(s => s.Id == session.Id, cancellationToken) : null;
        if (existing is not null)
        {
            if (existing.UserId != session.UserId || existing.EndedAtUtc is not null)
            {
                throw new InvalidOperationException("A sign-in may keep the sid only of its own open session.");
            }

            existing.AuthenticatedAtUtc = session.AuthenticatedAtUtc;
            existing.Methods = session.Methods;
            existing.LastActivityAtUtc = session.LastActivityAtUtc;
        }
        else
        {
            db.Add(session);
            audit.Add(actor, new SessionStarted(session.Id, session.UserId, new
            {
                session.UserId,
                session.Methods,
                session.UserAgent,
                session.IpAddress,
            }));
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    public void StageParticipant(SessionParticipant participant) => db.Add(participant);

    public async Task<IReadOnlyList<SessionClient>> ClientsAsync(string sessionId, CancellationToken cancellationToken)
    {
        var rows = await db.Set<SessionParticipant>().AsNoTracking()
            .Where(p => p.SessionId == sessionId)
            .OrderBy(p => p.CreatedAtUtc)
            .ToListAsync(cancellationToken);
        var clientIds = rows.Select(r => r.ClientId).Distinct().ToList();
        var applications = await db.Set<HubApplication>().AsNoTracking()
            .Where(a => clientIds.Contains(a.ClientId!))
            .Select(a => new { a.ClientId, a.DisplayName, a.BackChannelLogoutUri, a.FrontChannelLogoutUri })
            .ToDictionaryAsync(a => a.ClientId!, cancellationToken);

        return rows.GroupBy(r => r.ClientId).Select(group =>
        {
            // The latest grant says which sub and issuer the app holds now.
            var latest = group.Last();
            var application = applications.GetValueOrDefault(group.Key);
            return new SessionClient(group.Key, application?.DisplayName, latest.Subject, latest.Issuer,
                [.. group.Select(r => r.AuthorizationId)], application?.BackChannelLogoutUri, application?.FrontChannelLogoutUri);
        }).ToList();
    }

    public async Task<IReadOnlyList<SessionSummary>> ListActiveAsync(string userId, DateTime idleSinceUtc, DateTime createdSinceUtc,
        CancellationToken cancellationToken)
    {
        var sessions = await db.Set<SsoSession>().AsNoTracking()
            .Where(s => s.UserId == userId && s.EndedAtUtc == null && s.LastActivityAtUtc >= idleSinceUtc && s.CreatedAtUtc >= createdSinceUtc)
            .OrderByDescending(s => s.LastActivityAtUtc)
            .ToListAsync(cancellationToken);
        var ids = sessions.Select(s => s.Id).ToList();
        var participants = await db.Set<SessionParticipant>().AsNoTracking()
            .Where(p => ids.Contains(p.SessionId))
            .Select(p => new { p.SessionId, p.ClientId })
            .ToListAsync(cancellationToken);
        var clientIds = participants.Select(p => p.ClientId).Distinct().ToList();
        var names = await db.Set<HubApplication>().AsNoTracking()
            .Where(a => clientIds.Contains(a.ClientId!))
            .Select(a => new { a.ClientId, a.DisplayName })
            .ToDictionaryAsync(a => a.ClientId!, a => a.DisplayName ?? a.ClientId!, cancellationToken);

        return sessions.Select(s => new SessionSummary(s.Id, s.AuthenticatedAtUtc, s.Methods, s.CreatedAtUtc, s.LastActivityAtUtc, s.UserAgent,
            s.IpAddress,
            [.. participants.Where(p => p.SessionId == s.Id).Select(p => names.GetValueOrDefault(p.ClientId, p.ClientId)).Distinct()])).ToList();
    }

    public async Task<IReadOnlyList<string>> OpenSessionIdsAsync(string userId, CancellationToken cancellationToken) =>
        await db.Set<SsoSession>().AsNoTracking()
            .Where(s => s.UserId == userId && s.EndedAtUtc == null)
            .Select(s => s.Id)
            .ToListAsync(cancellationToken);

    public async Task<EndedSession?> EndAsync(string sessionId, SessionEndReason reason, AuditActor actor, DateTime nowUtc,
        CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // The conditional update makes ending idempotent under concurrency: only one caller queues the notices.
        var ended = await db.Set<SsoSession>()
            .Where(s => s.Id == sessionId && s.EndedAtUtc == null)
            .ExecuteUpdateAsync(s => s
                .SetProperty(x => x.EndedAtUtc, nowUtc)
                .SetProperty(x => x.EndReason, reason), cancellationToken);
        if (ended == 0)
        {
            return null;
        }

        var userId = await db.Set<SsoSession>().Where(s => s.Id == sessionId).Select(s => s.UserId).SingleAsync(cancellationToken);
        var clients = await ClientsAsync(sessionId, cancellationToken);
        foreach (var client in clients.Where(c => c.BackChannelLogoutUri is not null))
        {
            db.Add(new LogoutNotice
            {
                SessionId = sessionId,
                ClientId = client.ClientId,
                Subject = client.Subject,
                Issuer = client.Issuer,
                Uri = client.BackChannelLogoutUri!,
                CreatedAtUtc = nowUtc,
                DueAtUtc = nowUtc,
            });
        }

        audit.Add(actor, new SessionEnded(sessionId, userId, new
        {
            UserId = userId,
            Reason = reason.ToString().ToLowerInvariant(),
            Clients = clients.Select(c => c.ClientId).ToArray(),
            BackChannel = clients.Where(c => c.BackChannelLogoutUri is not null).Select(c => c.ClientId).ToArray(),
        }));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new EndedSession(sessionId, userId, clients);
    }
}

/// <summary>
/// The session check every request with a session cookie makes (<see cref="EfSessionStore.FindAsync"/>), compiled: no
/// expression tree to build, parameterise and look up in EF Core's query cache each time (docs/benchmarks.md, "Sign-in,
/// twelfth session"). A singleton, as <see cref="Oidc.GrantSubjectQueries"/>: a compiled query belongs to the model it
/// first ran against.
/// </summary>
public sealed class SessionQueries
{
    public Func<IdentityHubDbContext, string, CancellationToken, Task<SessionState?>> Find { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string sessionId, CancellationToken _) =>
            db.Set<SsoSession>().AsNoTracking()
                .Where(s => s.Id == sessionId)
                .Select(s => new SessionState(s.Id, s.UserId, s.CreatedAtUtc, s.LastActivityAtUtc, s.EndedAtUtc))
                .SingleOrDefault());
}
