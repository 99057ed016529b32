using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Sessions;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Oidc;

/// <summary>What the token endpoint re-reads about the person behind a code or refresh grant.</summary>
/// <param name="Person">The account (not tracked: the token endpoint never changes it), its real-name record and evidence.</param>
/// <param name="SessionEnded">Whether the grant's SSO session has been ended (a logout revokes its tokens).</param>
public sealed record GrantSubject(Person Person, bool SessionEnded);

/// <summary>
/// The token endpoint's re-checks of a code or refresh grant in one database round trip: the account the grant's sub
/// stands for (<see cref="SubjectIdentifiers.AccountQuery"/>), its real-name record and evidence (for the claims of
/// the new tokens), and whether the session was ended. Read from the database, the source of truth, on every grant,
/// so that a locked account, a changed identity or an ended session is seen at once.
/// </summary>
public sealed class GrantSubjects(IdentityHubDbContext db)
{
    public async Task<GrantSubject?> LoadAsync(IQueryable<ApplicationUser> account, string sessionId, CancellationToken cancellationToken)
    {
        // Two collections correlated on the account's key and one EXISTS: LEFT JOINs that SQLite translates too, in one
        // query on purpose (at most one real-name row times a few evidence rows).
        var row = await account.AsNoTracking().AsSingleQuery()
            .Select(u => new
            {
                User = u,
                RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u.Id).ToList(),
                Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u.Id).OrderBy(e => e.Id).ToList(),
                SessionEnded = db.Set<SsoSession>().Any(s => s.Id == sessionId && s.EndedAtUtc != null),
            })
            .SingleOrDefaultAsync(cancellationToken);
        return row is null ? null : new GrantSubject(new Person(row.User, row.RealName.SingleOrDefault(), row.Evidence), row.SessionEnded);
    }
}
