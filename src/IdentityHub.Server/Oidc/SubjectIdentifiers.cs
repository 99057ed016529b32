using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity;
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
public sealed class SubjectIdentifiers(IdentityHubDbContext db, UserManager<ApplicationUser> users, IOptions<SubjectOptions> options)
{
    public async Task<string> SubjectForAsync(string userId, ClientPolicy client, CancellationToken cancellationToken)
    {
        if (client.SubjectType == SubjectType.Public)
        {
            return userId;
        }

        var subject = Compute(client.SectorId, userId);
        if (!await db.PairwiseSubjects.AnyAsync(p => p.SectorId == client.SectorId && p.Subject == subject, cancellationToken))
        {
            var row = new PairwiseSubject { SectorId = client.SectorId, Subject = subject, UserId = userId };
            db.PairwiseSubjects.Add(row);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                // Another request stored the same row first.
                db.Entry(row).State = EntityState.Detached;
            }
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
        return await db.Users
            .Where(u => db.PairwiseSubjects.Any(p => p.SectorId == sector && p.Subject == subject && p.UserId == u.Id))
            .SingleOrDefaultAsync(cancellationToken);
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

    private string Compute(string sectorId, string userId)
    {
        var key = Encoding.UTF8.GetBytes(options.Value.PairwiseSecret ?? SubjectOptions.DevelopmentSecret);
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(sectorId + "|" + userId));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
