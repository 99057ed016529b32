using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Sessions;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Oidc;

/// <summary>What the token endpoint re-reads about the person behind a code or refresh grant.</summary>
/// <param name="Person">The account (not tracked: the token endpoint never changes it), its real-name record and evidence.</param>
/// <param name="SessionEnded">Whether the grant's SSO session has been ended (a logout revokes its tokens).</param>
public sealed record GrantSubject(Person Person, bool SessionEnded);

/// <summary>
/// The token endpoint's re-checks of a code or refresh grant in one database round trip: the account the grant's sub
/// stands for (the account id, or through <see cref="PairwiseSubject"/> for a pairwise client, as
/// <see cref="SubjectIdentifiers.AccountQuery"/>), its real-name record and evidence (for the claims of the new tokens),
/// and whether the session was ended. Read from the database, the source of truth, on every grant, so that a locked
/// account, a changed identity or an ended session is seen at once. EF compiled queries (<see cref="GrantSubjectQueries"/>):
/// no expression tree to build, parameterise and look up in EF's query cache on every grant.
/// </summary>
public sealed class GrantSubjects(IdentityHubDbContext db, GrantSubjectQueries queries, RecordedPairwiseSubjects recorded)
{
    public async Task<GrantSubject?> LoadAsync(string? subject, ClientPolicy? client, string sessionId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(subject) || client is null)
        {
            return null;
        }

        GrantSubjectRow? row;
        if (client.SubjectType == SubjectType.Public)
        {
            row = await queries.Public(db, subject, sessionId, cancellationToken);
        }
        else if ((row = await queries.Pairwise(db, client.SectorId, subject, sessionId, cancellationToken)) is null)
        {
            // No account through the mapping: the pair is no longer known to be stored (RecordedPairwiseSubjects).
            recorded.Forget(client.SectorId, subject);
        }

        return row is null ? null : new GrantSubject(new Person(row.User, row.RealName.SingleOrDefault(), row.Evidence), row.SessionEnded);
    }

    /// <summary>
    /// An authorization code's entry by its hashed reference id (what <see cref="RefreshTokens.RefreshTokenEntries.FindCodeAsync"/>
    /// reads) together with the account the entry's subject stands for as <paramref name="client"/> sees it (public: the
    /// account id; pairwise: through the mapping row), its real-name record and evidence, in one round trip, for the code
    /// grant's fast path (Oidc:CodeGrantReadsAccountWithCode). The entry's subject is the sub of the code it stores; the
    /// caller takes the person only once the code's payload has been validated and its sub is that subject. Whether the
    /// session was ended is not read: the redemption checks it (<see cref="RefreshTokens.GrantConditions"/>). Null when
    /// there is no such entry; a person of null when no account is found through the subject.
    /// </summary>
    public async Task<CodeWithPerson?> LoadWithCodeAsync(string hashedReferenceId, ClientPolicy client, CancellationToken cancellationToken)
    {
        var row = client.SubjectType == SubjectType.Public
            ? await queries.CodePublic(db, hashedReferenceId, cancellationToken)
            : await queries.CodePairwise(db, hashedReferenceId, client.SectorId, cancellationToken);
        if (row is null)
        {
            return null;
        }

        // No account through the mapping: nothing here. The code is not validated yet; once it is, the grant reads the
        // account itself (LoadAsync), which forgets the pair (RecordedPairwiseSubjects) if its mapping is gone.
        return new CodeWithPerson(row.Entry, row.Subject,
            row.User is null ? null : new Person(row.User, row.RealName.SingleOrDefault(), row.Evidence));
    }
}

/// <summary>What <see cref="GrantSubjects.LoadWithCodeAsync"/> read: the code's entry, its stored subject and that subject's person.</summary>
public sealed record CodeWithPerson(RefreshTokens.CodeEntry Entry, string? Subject, Person? Person);

/// <summary>One row of <see cref="GrantSubjectQueries.CodePublic"/> and <see cref="GrantSubjectQueries.CodePairwise"/>.</summary>
public sealed class CodeWithPersonRow
{
    public required RefreshTokens.CodeEntry Entry { get; init; }

    public string? Subject { get; init; }

    public ApplicationUser? User { get; init; }

    public required List<RealNameRecord> RealName { get; init; }

    public required List<VerificationEvidence> Evidence { get; init; }
}

/// <summary>One row of <see cref="GrantSubjectQueries"/>.</summary>
public sealed class GrantSubjectRow
{
    public required ApplicationUser User { get; init; }

    public required List<RealNameRecord> RealName { get; init; }

    public required List<VerificationEvidence> Evidence { get; init; }

    public bool SessionEnded { get; init; }
}

/// <summary>
/// The compiled queries of <see cref="GrantSubjects"/>. A compiled query belongs to the EF model it was first run against,
/// so the application holds them as a singleton (the tests run several applications with different providers in one
/// process), not in static fields.
/// </summary>
public sealed class GrantSubjectQueries
{
    // Two collections correlated on the account's key and one EXISTS: LEFT JOINs that SQLite translates too, in one
    // query on purpose (at most one real-name row times a few evidence rows). The same projection for both subject types.
    public Func<IdentityHubDbContext, string, string, CancellationToken, Task<GrantSubjectRow?>> Public { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string subject, string sessionId, CancellationToken _) =>
            db.Users.AsNoTracking().AsSingleQuery()
                .Where(u => u.Id == subject)
                .Select(u => new GrantSubjectRow
                {
                    User = u,
                    RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u.Id).ToList(),
                    Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u.Id).OrderBy(e => e.Id).ToList(),
                    SessionEnded = db.Set<SsoSession>().Any(s => s.Id == sessionId && s.EndedAtUtc != null),
                })
                .SingleOrDefault());

    public Func<IdentityHubDbContext, string, string, string, CancellationToken, Task<GrantSubjectRow?>> Pairwise { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string sector, string subject, string sessionId, CancellationToken _) =>
            db.Users.AsNoTracking().AsSingleQuery()
                .Where(u => db.PairwiseSubjects.Any(p => p.SectorId == sector && p.Subject == subject && p.UserId == u.Id))
                .Select(u => new GrantSubjectRow
                {
                    User = u,
                    RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u.Id).ToList(),
                    Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u.Id).OrderBy(e => e.Id).ToList(),
                    SessionEnded = db.Set<SsoSession>().Any(s => s.Id == sessionId && s.EndedAtUtc != null),
                })
                .SingleOrDefault());

    // The code's entry (as RefreshTokenQueries.FindCode reads it: its application's and authorization's ids through their
    // navigations, the authorization's status) LEFT JOINed to the account of its subject, with the account's two
    // collections: plain LEFT JOINs on both providers, one query. The reference id is unique (an index): one entry. The
    // entry's projection is FindCode's, written out again in each: a compiled query cannot take a shared member-init
    // expression without an expander, and projecting the entry first would hide its key from the collections' join.
    public Func<IdentityHubDbContext, string, CancellationToken, Task<CodeWithPersonRow?>> CodePublic { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string referenceId, CancellationToken _) =>
            (from t in db.Set<HubToken>()
             where t.ReferenceId == referenceId
             join u in db.Users on t.Subject equals u.Id into accounts
             from u in accounts.DefaultIfEmpty()
             select new CodeWithPersonRow
             {
                 Entry = new RefreshTokens.CodeEntry(t.Id!, t.Type, t.Status, t.ReferenceId, t.Payload,
                     t.Application != null ? t.Application.Id : null, t.CreationDate, t.ExpirationDate,
                     t.Authorization != null ? t.Authorization.Id : null, t.Authorization != null ? t.Authorization.Status : null),
                 Subject = t.Subject,
                 User = u,
                 RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u!.Id).ToList(),
                 Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u!.Id).OrderBy(e => e.Id).ToList(),
             })
            .AsNoTracking().AsSingleQuery()
            .FirstOrDefault());

    public Func<IdentityHubDbContext, string, string, CancellationToken, Task<CodeWithPersonRow?>> CodePairwise { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string referenceId, string sector, CancellationToken _) =>
            (from t in db.Set<HubToken>()
             where t.ReferenceId == referenceId
             join p in db.PairwiseSubjects.Where(p => p.SectorId == sector) on t.Subject equals p.Subject into mappings
             from p in mappings.DefaultIfEmpty()
             join u in db.Users on p!.UserId equals u.Id into accounts
             from u in accounts.DefaultIfEmpty()
             select new CodeWithPersonRow
             {
                 Entry = new RefreshTokens.CodeEntry(t.Id!, t.Type, t.Status, t.ReferenceId, t.Payload,
                     t.Application != null ? t.Application.Id : null, t.CreationDate, t.ExpirationDate,
                     t.Authorization != null ? t.Authorization.Id : null, t.Authorization != null ? t.Authorization.Status : null),
                 Subject = t.Subject,
                 User = u,
                 RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u!.Id).ToList(),
                 Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u!.Id).OrderBy(e => e.Id).ToList(),
             })
            .AsNoTracking().AsSingleQuery()
            .FirstOrDefault());
}
