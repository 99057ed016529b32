using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity.PersonalData;
using IdentityHub.Server.Verification;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Identity.RealName;

public enum BindResult
{
    /// <summary>The identity is the account's, with the evidence recorded and the level raised.</summary>
    Bound,

    /// <summary>Another account holds this ID number. Nothing about that account is told.</summary>
    HeldByAnotherAccount,

    /// <summary>This account is already bound to a different ID number (only a clerk may change it).</summary>
    AccountHasAnotherIdentity,
}

/// <summary>A successful check, as it is recorded (OpenID Identity Assurance evidence).</summary>
public sealed record EvidenceInput(int Level, string Check, string? Provider, string? TransactionId, string? ClerkUserId = null, string? ClerkName = null);

/// <summary>
/// Binds a verified legal identity to an account: one account per ID number (blind index), the number
/// encrypted, evidence recorded, the assurance level raised, and an audit event in the same SaveChanges.
/// </summary>
public sealed class RealNameService(IdentityHubDbContext db, PersonalDataProtector protector, IAuditLog audit, TimeProvider clock,
    RealNameQueries queries)
{
    public Task<RealNameRecord?> FindAsync(string userId, CancellationToken cancellationToken) =>
        db.Set<RealNameRecord>().AsNoTracking().SingleOrDefaultAsync(r => r.UserId == userId, cancellationToken);

    public Task<List<VerificationEvidence>> EvidenceAsync(string userId, CancellationToken cancellationToken) =>
        db.Set<VerificationEvidence>().AsNoTracking().Where(e => e.UserId == userId).OrderBy(e => e.Id).ToListAsync(cancellationToken);

    /// <summary>
    /// The account, tracked as <c>UserManager.FindByIdAsync</c> returns it, with its real-name record and evidence: one
    /// round trip where the authorization endpoint read the account and then the person (docs/benchmarks.md, signin).
    /// </summary>
    /// <param name="handed">
    /// The person this HTTP request's sign-in read, handed over to its authorization request
    /// (Hosting/AuthorizeAfterSignIn.TakeSignedInPerson): taken instead of the read when it is this account's and nothing
    /// of the account is tracked yet; its account is then tracked as read (unchanged). Its real-name record and evidence
    /// are not attached (the read would track them): nothing in the authorization request changes them or reads them
    /// through this context again (ClaimsFactory reads the person's; AgentMandates projects a record's name only), so
    /// their being tracked changes nothing but the work of the saves' change detection.
    /// </param>
    public async Task<Person?> FindPersonByIdAsync(string? userId, CancellationToken cancellationToken, Person? handed = null)
    {
        if (string.IsNullOrEmpty(userId))
        {
            return null;
        }

        if (handed is not null && handed.User.Id == userId && db.Users.Local.FindEntry(userId) is null)
        {
            db.Users.Attach(handed.User);
            return handed;
        }

        var loaded = await queries.PersonById(db, userId, cancellationToken);
        return loaded is null ? null : new(loaded.User, loaded.RealName.SingleOrDefault(), loaded.Evidence);
    }

    /// <summary>The account with its real-name record and evidence, read in one round trip (token and userinfo requests).</summary>
    public async Task<Person> LoadPersonAsync(ApplicationUser user, CancellationToken cancellationToken)
    {
        var userId = user.Id;
        // Two collections correlated on the account's key: plain LEFT JOINs, which SQLite translates too (no APPLY).
        var loaded = await db.Users.AsNoTracking()
            .Where(u => u.Id == userId)
            .Select(u => new
            {
                RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u.Id).ToList(),
                Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u.Id).OrderBy(e => e.Id).ToList(),
            })
            .SingleOrDefaultAsync(cancellationToken);
        return loaded is null
            ? new(user, await FindAsync(userId, cancellationToken), await EvidenceAsync(userId, cancellationToken))
            : new(user, loaded.RealName.SingleOrDefault(), loaded.Evidence);
    }

    public string IndexOf(string normalizedIdNumber) => protector.BlindIndex(normalizedIdNumber, RealNameRecord.IdNumberPurpose);

    /// <summary>Whether the number is bound to an account other than <paramref name="userId"/>.</summary>
    public Task<bool> HeldByAnotherAccountAsync(string normalizedIdNumber, string userId, CancellationToken cancellationToken)
    {
        var index = IndexOf(normalizedIdNumber);
        return db.Set<RealNameRecord>().AnyAsync(r => r.IdNumberIndex == index && r.UserId != userId, cancellationToken);
    }

    /// <summary>Decrypts the ID number: only for releasing it under a client's policy.</summary>
    public string RevealIdNumber(RealNameRecord record) => protector.Unprotect(record.IdNumberCiphertext, AssociatedData(record.UserId));

    public async Task<BindResult> BindAsync(ApplicationUser user, string name, IdNumberCheck idNumber, EvidenceInput evidence, AuditActor actor,
        CancellationToken cancellationToken)
    {
        if (!idNumber.IsValid)
        {
            throw new ArgumentException("Only a locally valid ID number is bound.", nameof(idNumber));
        }

        var index = IndexOf(idNumber.Normalized);
        var existing = await db.Set<RealNameRecord>().SingleOrDefaultAsync(r => r.UserId == user.Id, cancellationToken);
        if (existing is not null && existing.IdNumberIndex != index)
        {
            return BindResult.AccountHasAnotherIdentity;
        }

        if (await HeldByAnotherAccountAsync(idNumber.Normalized, user.Id, cancellationToken))
        {
            return BindResult.HeldByAnotherAccount;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        if (existing is null)
        {
            db.Add(new RealNameRecord
            {
                UserId = user.Id,
                Name = name,
                IdNumberCiphertext = protector.Protect(idNumber.Normalized, AssociatedData(user.Id)),
                IdNumberIndex = index,
                IdNumberMasked = Masking.IdNumber(idNumber.Normalized),
                BirthDate = idNumber.BirthDate!.Value,
                Gender = idNumber.Gender!.Value,
                VerifiedAtUtc = now,
            });
        }
        else
        {
            existing.Name = name;
            existing.VerifiedAtUtc = now;
        }

        db.Add(new VerificationEvidence
        {
            UserId = user.Id,
            Level = evidence.Level,
            Check = evidence.Check,
            Provider = evidence.Provider,
            TransactionId = evidence.TransactionId,
            VerifiedAtUtc = now,
            ClerkUserId = evidence.ClerkUserId,
            ClerkName = evidence.ClerkName,
        });
        var before = AssuranceLevels.Of(user);
        user.AssuranceLevel = Math.Max(before, evidence.Level);
        if (db.Entry(user).State == EntityState.Detached)
        {
            db.Attach(user).Property(u => u.AssuranceLevel).IsModified = true;
        }

        // The audit trail names the check and the level, never the ID number.
        audit.Add(actor, new IdentityVerified(user.Id, new { level = AssuranceLevels.Name(before) },
            new { level = AssuranceLevels.Name(user.AssuranceLevel), evidence.Check, evidence.Provider, evidence.TransactionId, evidence.ClerkUserId }));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The unique blind index caught a concurrent binding of the same number to another account.
            db.ChangeTracker.Clear();
            return BindResult.HeldByAnotherAccount;
        }

        return BindResult.Bound;
    }

    // The ciphertext is bound to its row: copied to another account it does not decrypt.
    private static string AssociatedData(string userId) => RealNameRecord.IdNumberPurpose + "|" + userId;
}

public sealed record IdentityVerified(string UserId, object? Before, object? After) : AuditRecord(UserId, null, Before, After)
{
    public override string EventType => "identity.verified";

    public override string TargetType => "user";

    public override string? SubjectId => UserId;
}

/// <summary>
/// The compiled queries of <see cref="RealNameService"/> that every sign-in runs (the authorize request's account and
/// person): no expression tree to build, parameterise and look up in EF Core's query cache each time (docs/benchmarks.md,
/// "Sign-in, twelfth session"). A singleton, as <see cref="Oidc.GrantSubjectQueries"/>: a compiled query belongs to the
/// model it first ran against.
/// </summary>
public sealed class RealNameQueries
{
    /// <summary>
    /// The account (tracked) with its real-name record and evidence: at most one real-name row times a few evidence rows,
    /// one query on purpose (AsSingleQuery, as ClaimsPersonQueries).
    /// </summary>
    public Func<IdentityHubDbContext, string, CancellationToken, Task<PersonRow?>> PersonById { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string userId, CancellationToken _) =>
            db.Users.AsSingleQuery()
                .Where(u => u.Id == userId)
                .Select(u => new PersonRow
                {
                    User = u,
                    RealName = db.Set<RealNameRecord>().Where(r => r.UserId == u.Id).ToList(),
                    Evidence = db.Set<VerificationEvidence>().Where(e => e.UserId == u.Id).OrderBy(e => e.Id).ToList(),
                })
                .SingleOrDefault());

    /// <summary>One row of <see cref="PersonById"/>.</summary>
    public sealed class PersonRow
    {
        public required ApplicationUser User { get; init; }

        public required List<RealNameRecord> RealName { get; init; }

        public required List<VerificationEvidence> Evidence { get; init; }
    }
}
