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
    /// Hosting/AuthorizeAfterSignIn): a copy of the account as this unit of work last saved or read it, with no real-name
    /// record and no evidence, as the read-ahead found it (it says whether there are any). Null, and the person is read
    /// again, when there was no read-ahead or it was not made with that question, when the account has a real-name
    /// record or evidence, or when this unit of work holds a change of the account not saved (or an open transaction):
    /// what the request wrote of the account (Identity's access-failed count, a re-hashed password) is then saved and
    /// committed, so the copy is the stored row as this request last knew it, one statement's snapshot (with its claims)
    /// taken before the password hash and updated by this request's own saves since. A change of the account by another
    /// request committed meanwhile is not in it, as it is not in the sign-in's cookie (see
    /// <see cref="FindForPasswordSignInAsync"/>); the token endpoint reads the account again.
    /// </summary>
    public Person? SignedInPerson()
    {
        if (_readAhead is not { PersonRecords: false, User: var user } || db.Database.CurrentTransaction is not null)
        {
            return null;
        }

        // The entry the read-ahead started tracking (the account object the sign-in used), its properties compared with
        // their last saved or read values (snapshot change tracking: a change in memory shows only once detected).
        var entry = db.Entry(user);
        entry.DetectChanges();
        return entry.State == EntityState.Unchanged ? new Person((ApplicationUser)entry.CurrentValues.ToObject(), null, []) : null;
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

        var withPerson = options.Value.AuthorizeReusesSignInAccount;
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
            // Unknown (true) unless asked.
            PersonRecords = !withPerson || rows[0].HasPersonRecords,
            Claims = [.. rows.Where(r => r.Kind is not null && r.User == user).Select(r => new AccountClaimRow
                { UserId = user.Id, Kind = r.Kind!.Value, Role = r.Role, Type = r.Type, Value = r.Value })],
        };
        return user;
    }

    /// <summary>
    /// One statement: the account row, joined to its claim rows (one row each, the account's columns repeated; one row
    /// with no claim row when it has none). Mobile numbers and user names are unique (indexes): at most one account.
    /// With <paramref name="withPerson"/>, also whether the account has a real-name record or evidence (two index probes:
    /// <see cref="SignedInPerson"/>); without, that column is the constant false.
    /// </summary>
    internal static IQueryable<ReadAheadRow> ReadAhead(IdentityHubDbContext db, IQueryable<ApplicationUser> accounts, bool withPerson) =>
        from account in accounts
        join row in AccountClaimRows.Of(db, accounts.Select(u => u.Id)) on account.Id equals row.UserId into claims
        from claim in claims.DefaultIfEmpty()
        select new ReadAheadRow
        {
            User = account,
            HasKnownDevices = db.Set<KnownDevice>().Any(d => d.UserId == account.Id),
            HasPersonRecords = withPerson
                && (db.Set<RealNameRecord>().Any(r => r.UserId == account.Id) || db.Set<VerificationEvidence>().Any(e => e.UserId == account.Id)),
            Kind = (int?)claim!.Kind,
            Role = claim.Role,
            Type = claim.Type,
            Value = claim.Value,
        };

    internal sealed class ReadAheadRow
    {
        public required ApplicationUser User { get; init; }

        public bool HasKnownDevices { get; init; }

        public bool HasPersonRecords { get; init; }

        public int? Kind { get; init; }

        public string? Role { get; init; }

        public string? Type { get; init; }

        public string? Value { get; init; }
    }

    private sealed class SignInReadAhead
    {
        public required ApplicationUser User { get; init; }

        public bool HasKnownDevices { get; init; }

        /// <summary>Whether the account has a real-name record or evidence, or that was not asked.</summary>
        public bool PersonRecords { get; init; }

        public required List<AccountClaimRow> Claims { get; init; }

        public bool ClaimsTaken { get; set; }
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
