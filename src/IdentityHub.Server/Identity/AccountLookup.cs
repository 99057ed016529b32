using IdentityHub.Server.Data;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity.RealName;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Identity;

/// <summary>Finds an account by the name a person types: a user name or a mobile number.</summary>
public sealed class AccountLookup(UserManager<ApplicationUser> users, IdentityHubDbContext db, IOptions<AccountOptions> options,
    AccountLookupQueries queries)
{
    private SignInReadAhead? _readAhead;

    /// <summary>The account (tracked) whose mobile number or, failing that, whose user name <paramref name="signInName"/> is.</summary>
    public Task<ApplicationUser?> FindBySignInNameAsync(string signInName, CancellationToken cancellationToken = default) =>
        FindBySignInNameAsync(signInName, readAhead: false, cancellationToken);

    /// <summary>
    /// The account for the sign-in page's password form, as <see cref="FindBySignInNameAsync(string, CancellationToken)"/>
    /// finds it (tracked), and with <see cref="AccountOptions.SignInReadsAhead"/> in the same round trip what a successful
    /// sign-in reads next: whether the account has known devices (<see cref="Security.KnownDevices"/>) and the cookie
    /// principal's claims and roles (<see cref="HubClaimsPrincipalFactory"/>, <see cref="AccountClaimRows"/>), kept for
    /// this request (this service is scoped). Before, those were two more round trips after the hash (docs/benchmarks.md,
    /// "Sign-in, eleventh session"). The account row and its claim rows are one statement's (one snapshot), at most one
    /// hash's time (its queue under load included, seconds at worst) older than a read after the hash: a role or claim
    /// change committed during the hash is in the account's next cookie, as one committed just after the sign-in is.
    /// "Has known devices" is only trusted when true (no known-device row is deleted while the account exists): false is
    /// read again just before the new device's insert (<see cref="Security.KnownDevices.SightAsync"/>), so the new-device
    /// alert is decided as without the read-ahead, at the cost of a round trip only on sign-ins of an account with no
    /// known device yet. A failed sign-in discards what was read.
    /// </summary>
    public Task<ApplicationUser?> FindForPasswordSignInAsync(string signInName, CancellationToken cancellationToken = default) =>
        FindBySignInNameAsync(signInName, options.Value.SignInReadsAhead, cancellationToken);

    /// <summary>True when <see cref="FindForPasswordSignInAsync"/> read this account and it had known devices then.</summary>
    public bool HadKnownDevices(string userId) => _readAhead is { HasKnownDevices: true } read && read.User.Id == userId;

    /// <summary>The claim rows <see cref="FindForPasswordSignInAsync"/> read for the account, once; null if it did not.</summary>
    public List<AccountClaimRow>? TakeClaims(string userId)
    {
        if (_readAhead is not { ClaimsTaken: false } read || read.User.Id != userId)
        {
            return null;
        }

        read.ClaimsTaken = true;
        return read.Claims;
    }

    /// <summary>
    /// The person <see cref="FindForPasswordSignInAsync"/> read for this request's sign-in, for the authorization request
    /// the same HTTP request answers next (<see cref="AccountOptions.AuthorizeReusesSignInAccount"/>,
    /// Hosting/AuthorizeAfterSignIn): a copy of the account as this unit of work last saved or read it, with the real-name
    /// record and the evidence (ordered by id) the read-ahead read with it, as <c>RealNameQueries.PersonById</c> would
    /// return them. Null, and the person is read again, when there was no read-ahead or it was not made with the person,
    /// when this unit of work holds a change of the account not saved (or an open transaction), or when it tracks a
    /// real-name record or evidence of the account (read or written through it in this request: a sign-in does neither;
    /// the read-ahead's own are untracked). What the request wrote of the account (Identity's access-failed count, a
    /// re-hashed password) is then saved and committed, so the copy is the stored row as this request last knew it, one
    /// statement's snapshot (with its claims, record and evidence) taken before the password hash and updated by this
    /// request's own saves since. A change by another request committed meanwhile is not in it, as it is not in the
    /// sign-in's cookie (see <see cref="FindForPasswordSignInAsync"/>); the token endpoint reads the person again.
    /// This is safe because a person's verification only grows (BindAsync adds evidence and raises the level; nothing lowers
    /// a level or removes a record or evidence but the account's deletion): a snapshot can be less verified than the truth,
    /// never more. A feature that revokes or downgrades a verification must revisit this hand-over.
    /// </summary>
    public Person? SignedInPerson()
    {
        if (_readAhead is not { Evidence: { } evidence, User: var user } read || db.Database.CurrentTransaction is not null)
        {
            return null;
        }

        // Nothing of the person's verified identity passed through this unit of work (the read-ahead's record and evidence
        // are not tracked): looked up without detecting every entity's changes, which the account's entry alone needs.
        var tracker = db.ChangeTracker;
        var autoDetect = tracker.AutoDetectChangesEnabled;
        tracker.AutoDetectChangesEnabled = false;
        try
        {
            foreach (var tracked in tracker.Entries())
            {
                if (tracked.Entity is RealNameRecord { UserId: var recordOf } && recordOf == user.Id
                    || tracked.Entity is VerificationEvidence { UserId: var evidenceOf } && evidenceOf == user.Id)
                {
                    return null;
                }
            }
        }
        finally
        {
            tracker.AutoDetectChangesEnabled = autoDetect;
        }

        // The entry the read-ahead started tracking (the account object the sign-in used), its properties compared with
        // their last saved or read values (snapshot change tracking: a change in memory shows only once detected).
        var entry = db.Entry(user);
        entry.DetectChanges();
        return entry.State == EntityState.Unchanged ? new Person((ApplicationUser)entry.CurrentValues.ToObject(), read.RealName, evidence) : null;
    }

    /// <summary>By mobile number first, then by user name (Identity's normalisation, as <c>UserManager.FindByNameAsync</c>).</summary>
    private async Task<ApplicationUser?> FindBySignInNameAsync(string signInName, bool readAhead, CancellationToken cancellationToken)
    {
        if (MobileNumber.TryNormalize(signInName, out var mobile)
            && await FindAsync(AccountLookupQueries.ByMobile, mobile, readAhead, cancellationToken) is { } byMobile)
        {
            return byMobile;
        }

        return await FindAsync(AccountLookupQueries.ByUserName, users.NormalizeName(signInName.Trim()), readAhead, cancellationToken);
    }

    private async Task<ApplicationUser?> FindAsync(AccountLookupQueries.Key key, string value, bool readAhead, CancellationToken cancellationToken)
    {
        if (!readAhead)
        {
            return await AccountLookupQueries.Accounts(db, key, value).FirstOrDefaultAsync(cancellationToken);
        }

        // The person's records only when a replay can take them (personal data read no more often than it is used).
        var withPerson = options.Value.AuthorizeReusesSignInAccount && options.Value.AnswerAuthorizeAfterSignIn;
        var rows = new List<ReadAheadRow>();
        await foreach (var row in queries.ReadAhead(db, key, value, withPerson).WithCancellation(cancellationToken))
        {
            rows.Add(row);
        }

        if (rows.Count == 0)
        {
            return null;
        }

        var user = rows[0].User;
        _readAhead = new SignInReadAhead
        {
            User = user,
            HasKnownDevices = rows[0].HasKnownDevices,
            Claims = [.. rows.Where(r => r.Kind is not null && r.Kind != EvidenceRow && r.User == user).Select(r => new AccountClaimRow
                { UserId = user.Id, Kind = r.Kind!.Value, Role = r.Role, Type = r.Type, Value = r.Value })],
            // Every row carries the record (at most one: its key is the account's); the evidence as RealNameQueries.PersonById orders it.
            // Only this account's (one account by the unique sign-in names; checked again so that nothing of another is handed on).
            RealName = withPerson && rows[0].RealName is { } record && record.UserId == user.Id ? record : null,
            Evidence = withPerson
                ? [.. rows.Where(r => r.Evidence is not null && r.Evidence.UserId == user.Id).Select(r => r.Evidence!).OrderBy(e => e.Id)]
                : null,
        };
        return user;
    }

    /// <summary>The read-ahead's rows that carry an evidence row's id instead of a claim (<see cref="AccountClaimRows"/>' kinds are 0-2).</summary>
    internal const int EvidenceRow = 3;

    /// <summary>
    /// One statement: the account row, joined to its claim rows (one row each, the account's columns repeated; one row
    /// with no claim row when it has none). Mobile numbers and user names are unique (indexes): at most one account.
    /// With <paramref name="withPerson"/>, the person too (<see cref="SignedInPerson"/>): the account's real-name record
    /// (<c>LEFT JOIN</c> on its key, the account's id: repeated on every row as the account's columns) and its evidence rows
    /// as one more <c>UNION ALL</c> arm of the claim rows (their id only, each row's columns by a <c>LEFT JOIN</c> on it):
    /// no row multiplies another. The record and the evidence are built in the projection (not entities the query tracks):
    /// the sign-in's unit of work tracks them no more than without.
    /// </summary>
    internal static IQueryable<ReadAheadRow> ReadAhead(IdentityHubDbContext db, IQueryable<ApplicationUser> accounts, bool withPerson)
    {
        var ids = accounts.Select(u => u.Id);
        if (!withPerson)
        {
            return from account in accounts
                   join row in AccountClaimRows.Of(db, ids) on account.Id equals row.UserId into claims
                   from claim in claims.DefaultIfEmpty()
                   select new ReadAheadRow
                   {
                       User = account,
                       HasKnownDevices = db.Set<KnownDevice>().Any(d => d.UserId == account.Id),
                       Kind = (int?)claim!.Kind,
                       Role = claim.Role,
                       Type = claim.Type,
                       Value = claim.Value,
                   };
        }

        var rows = AccountClaimRows.Of(db, ids)
            .Select(c => new PersonArm { UserId = c.UserId, Kind = c.Kind, Role = c.Role, Type = c.Type, Value = c.Value, EvidenceId = null })
            .Concat(db.Set<VerificationEvidence>().Where(e => ids.Contains(e.UserId))
                .Select(e => new PersonArm { UserId = e.UserId, Kind = EvidenceRow, Role = null, Type = null, Value = null, EvidenceId = e.Id }));
        return from account in accounts
               join row in rows on account.Id equals row.UserId into claims
               from claim in claims.DefaultIfEmpty()
               join r in db.Set<RealNameRecord>() on account.Id equals r.UserId into records
               from record in records.DefaultIfEmpty()
               join e in db.Set<VerificationEvidence>() on claim!.EvidenceId equals (long?)e.Id into evidence
               from ev in evidence.DefaultIfEmpty()
               select new ReadAheadRow
               {
                   User = account,
                   HasKnownDevices = db.Set<KnownDevice>().Any(d => d.UserId == account.Id),
                   Kind = (int?)claim!.Kind,
                   Role = claim.Role,
                   Type = claim.Type,
                   Value = claim.Value,
                   RealName = record == null ? null : new RealNameRecord
                   {
                       UserId = record.UserId,
                       Name = record.Name,
                       IdNumberCiphertext = record.IdNumberCiphertext,
                       IdNumberIndex = record.IdNumberIndex,
                       IdNumberMasked = record.IdNumberMasked,
                       BirthDate = record.BirthDate,
                       Gender = record.Gender,
                       VerifiedAtUtc = record.VerifiedAtUtc,
                   },
                   Evidence = ev == null ? null : new VerificationEvidence
                   {
                       Id = ev.Id,
                       UserId = ev.UserId,
                       Level = ev.Level,
                       Check = ev.Check,
                       Provider = ev.Provider,
                       TransactionId = ev.TransactionId,
                       VerifiedAtUtc = ev.VerifiedAtUtc,
                       ClerkUserId = ev.ClerkUserId,
                       ClerkName = ev.ClerkName,
                   },
               };
    }

    /// <summary>A claim row or an evidence row's id: the <c>UNION ALL</c> arms of <see cref="ReadAhead"/> with the person.</summary>
    internal sealed class PersonArm
    {
        public string UserId { get; init; } = "";

        public int Kind { get; init; }

        public string? Role { get; init; }

        public string? Type { get; init; }

        public string? Value { get; init; }

        public long? EvidenceId { get; init; }
    }

    internal sealed class ReadAheadRow
    {
        public required ApplicationUser User { get; init; }

        public bool HasKnownDevices { get; init; }

        public int? Kind { get; init; }

        public string? Role { get; init; }

        public string? Type { get; init; }

        public string? Value { get; init; }

        /// <summary>The account's real-name record (not tracked), with the person only.</summary>
        public RealNameRecord? RealName { get; init; }

        /// <summary>One evidence row (not tracked), on an <see cref="EvidenceRow"/> row.</summary>
        public VerificationEvidence? Evidence { get; init; }
    }

    private sealed class SignInReadAhead
    {
        public required ApplicationUser User { get; init; }

        public bool HasKnownDevices { get; init; }

        public required List<AccountClaimRow> Claims { get; init; }

        public bool ClaimsTaken { get; set; }

        /// <summary>The account's real-name record, if it has one and the person was read (<see cref="Evidence"/> not null).</summary>
        public RealNameRecord? RealName { get; init; }

        /// <summary>The account's evidence, ordered by id, when the person was read; null when it was not.</summary>
        public List<VerificationEvidence>? Evidence { get; init; }
    }
}

/// <summary>
/// Spends the same time on an unknown sign-in name as on a wrong password, so that response times
/// do not tell whether an account exists.
/// </summary>
public sealed class PasswordTimingEqualizer
{
    private readonly PasswordHasher<ApplicationUser> _hasher;
    private readonly Lazy<string> _dummyHash;

    private readonly PasswordHashGate _gate;

    public PasswordTimingEqualizer(Microsoft.Extensions.Options.IOptions<PasswordHasherOptions> options, PasswordHashGate gate)
    {
        _gate = gate;
        _hasher = new PasswordHasher<ApplicationUser>(options);
        _dummyHash = new(() => _hasher.HashPassword(new ApplicationUser(),
            Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))));
    }

    /// <summary>One verification against a dummy hash, through the same <see cref="PasswordHashGate"/> as a real one.</summary>
    public Task SpendAsync(string password, CancellationToken cancellationToken = default) =>
        _gate.RunAsync(() => _hasher.VerifyHashedPassword(new ApplicationUser(), _dummyHash.Value, password), cancellationToken);
}
