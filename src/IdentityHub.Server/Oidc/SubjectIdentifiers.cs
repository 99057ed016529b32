using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// The sub a client sees (OIDC Core section 8). Public: the account id, the same for every client.
/// Pairwise (section 8.1): base64url(HMAC-SHA256(server secret, sector id + "|" + account id)), the same
/// for every client of one department and different across departments, so that departments cannot join
/// their records by sub. The reverse mapping is a stored row (<see cref="PairwiseSubject"/>).
/// </summary>
public sealed class SubjectIdentifiers(IdentityHubDbContext db, UserManager<ApplicationUser> users, IOptions<SubjectOptions> options,
    RecordedPairwiseSubjects recorded)
{
    public async Task<string> SubjectForAsync(string userId, ClientPolicy client, CancellationToken cancellationToken)
    {
        if (client.SubjectType == SubjectType.Public)
        {
            return userId;
        }

        var subject = Compute(client.SectorId, userId);
        // The reverse mapping, stored the first time: one statement whether or not it is there already (it was a lookup,
        // then an insert the first time). A row stored first by another request (the same sector and sub, or the same
        // sector and account: the two unique keys) is left as it is, as the refused insert was before. PostgreSQL and
        // SQLite (3.24+) both take INSERT ... ON CONFLICT DO NOTHING. Only this row: nothing else of the unit of work.
        // A pair this process saw stored needs no statement (RecordedPairwiseSubjects: the application never deletes
        // the rows; a lookup that finds none forgets the pair).
        var sector = client.SectorId;
        if (recorded.IsStored(sector, subject))
        {
            return subject;
        }

        var now = DateTime.UtcNow;
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO \"PairwiseSubjects\" (\"SectorId\", \"Subject\", \"UserId\", \"CreatedAtUtc\") VALUES ({sector}, {subject}, {userId}, {now}) ON CONFLICT DO NOTHING",
            cancellationToken);
        // Noted only once committed: inside a caller's transaction, a rollback could still undo the insert.
        if (db.Database.CurrentTransaction is null)
        {
            recorded.NoteStored(sector, subject);
        }

        return subject;
    }

    /// <summary>The account a sub stands for, as seen by <paramref name="client"/>; null if none.</summary>
    public async Task<ApplicationUser?> FindUserAsync(string? subject, ClientPolicy? client, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(subject) || client is null)
        {
            return null;
        }

        if (client.SubjectType == SubjectType.Public)
        {
            return await users.FindByIdAsync(subject);
        }

        // The mapping row and the account in one round trip (tracked, as UserManager.FindByIdAsync returns it).
        var sector = client.SectorId;
        var user = await db.Users
            .Where(u => db.PairwiseSubjects.Any(p => p.SectorId == sector && p.Subject == subject && p.UserId == u.Id))
            .SingleOrDefaultAsync(cancellationToken);
        if (user is null)
        {
            recorded.Forget(sector, subject);
        }

        return user;
    }

    /// <summary>
    /// The account a sub stands for, as seen by <paramref name="client"/>, as a query to compose (at most one row), so
    /// that a caller reads it together with what else it needs in one round trip; null when there can be none.
    /// </summary>
    public IQueryable<ApplicationUser>? AccountQuery(string? subject, ClientPolicy? client)
    {
        if (string.IsNullOrEmpty(subject) || client is null)
        {
            return null;
        }

        if (client.SubjectType == SubjectType.Public)
        {
            return db.Users.Where(u => u.Id == subject);
        }

        var sector = client.SectorId;
        return db.Users.Where(u => db.PairwiseSubjects.Any(p => p.SectorId == sector && p.Subject == subject && p.UserId == u.Id));
    }

    /// <summary>
    /// The person of a <see cref="ClaimsPersonQueries"/> row (the userinfo endpoint reads it through
    /// <see cref="ClaimsPersonCache"/>): only the account columns claims are built from (<see cref="PersonClaims"/>,
    /// <see cref="Person.Level"/>), its real-name record and evidence. The <see cref="Person.User"/> it returns is a
    /// read-only copy without password hash, security stamp or lockout state: never for saving or for sign-in decisions.
    /// </summary>
    public static Person ToPerson(ClaimsPersonQueries.ClaimsPersonRow row)
    {
        var user = new ApplicationUser
        {
            Id = row.Id,
            UserName = row.UserName,
            DisplayName = row.DisplayName,
            Email = row.Email,
            EmailConfirmed = row.EmailConfirmed,
            PhoneNumber = row.PhoneNumber,
            PhoneNumberConfirmed = row.PhoneNumberConfirmed,
            AssuranceLevel = row.AssuranceLevel,
            // Not read: nothing may mistake this copy for the stored account's stamps.
            SecurityStamp = null,
            ConcurrencyStamp = null,
        };
        return new Person(user, row.RealName.SingleOrDefault(), row.Evidence);
    }

    private string Compute(string sectorId, string userId)
    {
        var key = Encoding.UTF8.GetBytes(options.Value.PairwiseSecret ?? SubjectOptions.DevelopmentSecret);
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(sectorId + "|" + userId));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}

/// <summary>
/// The compiled queries of the claims person (<see cref="ClaimsPersonCache"/>, one round trip: the account through the
/// pairwise mapping, its real-name record and evidence, untracked): no expression tree to build, parameterise and look up
/// in EF's query cache on every load. A compiled query belongs to the EF
/// model it was first run against, so the application holds them as a singleton (one model per application; the tests
/// run several applications with different providers in one process), not in static fields.
/// </summary>
public sealed class ClaimsPersonQueries
{
    // Two collections correlated on the account's key: LEFT JOINs that SQLite translates too, in one query on purpose (at
    // most one real-name row times a few evidence rows). The same projection for both subject types.
    public Func<IdentityHubDbContext, string, CancellationToken, Task<ClaimsPersonRow?>> Public { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string subject, CancellationToken _) =>
            db.Users.AsNoTracking().AsSingleQuery()
                .Where(u => u.Id == subject)
                .Select(u => new ClaimsPersonRow
                {
                    Id = u.Id,
                    UserName = u.UserName,
                    DisplayName = u.DisplayName,
                    Email = u.Email,
                    EmailConfirmed = u.EmailConfirmed,
                    PhoneNumber = u.PhoneNumber,
                    PhoneNumberConfirmed = u.PhoneNumberConfirmed,
                    AssuranceLevel = u.AssuranceLevel,
                    RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u.Id).ToList(),
                    Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u.Id).OrderBy(e => e.Id).ToList(),
                })
                .SingleOrDefault());

    public Func<IdentityHubDbContext, string, string, CancellationToken, Task<ClaimsPersonRow?>> Pairwise { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string sector, string subject, CancellationToken _) =>
            db.Users.AsNoTracking().AsSingleQuery()
                .Where(u => db.PairwiseSubjects.Any(p => p.SectorId == sector && p.Subject == subject && p.UserId == u.Id))
                .Select(u => new ClaimsPersonRow
                {
                    Id = u.Id,
                    UserName = u.UserName,
                    DisplayName = u.DisplayName,
                    Email = u.Email,
                    EmailConfirmed = u.EmailConfirmed,
                    PhoneNumber = u.PhoneNumber,
                    PhoneNumberConfirmed = u.PhoneNumberConfirmed,
                    AssuranceLevel = u.AssuranceLevel,
                    RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u.Id).ToList(),
                    Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u.Id).OrderBy(e => e.Id).ToList(),
                })
                .SingleOrDefault());

    public sealed class ClaimsPersonRow
    {
        public required string Id { get; init; }
        public string? UserName { get; init; }
        public string? DisplayName { get; init; }
        public string? Email { get; init; }
        public bool EmailConfirmed { get; init; }
        public string? PhoneNumber { get; init; }
        public bool PhoneNumberConfirmed { get; init; }
        public int AssuranceLevel { get; init; }
        public required List<RealNameRecord> RealName { get; init; }
        public required List<VerificationEvidence> Evidence { get; init; }
    }
}
