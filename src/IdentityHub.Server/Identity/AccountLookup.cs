using IdentityHub.Server.Data;
using IdentityHub.Server.Factors;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Identity;

/// <summary>Finds an account by the name a person types: a user name or a mobile number.</summary>
public sealed class AccountLookup(UserManager<ApplicationUser> users, IdentityHubDbContext db, IOptions<AccountOptions> options)
{
    private SignInReadAhead? _readAhead;

    public async Task<ApplicationUser?> FindBySignInNameAsync(string signInName, CancellationToken cancellationToken = default)
    {
        if (MobileNumber.TryNormalize(signInName, out var mobile))
        {
            var byMobile = await users.Users.FirstOrDefaultAsync(u => u.PhoneNumber == mobile, cancellationToken);
            if (byMobile is not null)
            {
                return byMobile;
            }
        }

        return await users.FindByNameAsync(signInName.Trim());
    }

    /// <summary>
    /// The account for the sign-in page's password form, as <see cref="FindBySignInNameAsync"/> finds it (tracked), and
    /// with <see cref="AccountOptions.SignInReadsAhead"/> in the same round trip what a successful sign-in reads next:
    /// whether the account has known devices (<see cref="Security.KnownDevices"/>) and the cookie principal's claims and
    /// roles (<see cref="HubClaimsPrincipalFactory"/>), kept for this request (this service is scoped). Before, those were
    /// two more round trips after the hash (docs/benchmarks.md, "Sign-in, eleventh session"). What is read ahead is at
    /// most one hash's time older than a read after it; a failed sign-in discards it.
    /// </summary>
    public async Task<ApplicationUser?> FindForPasswordSignInAsync(string signInName, CancellationToken cancellationToken = default)
    {
        if (!options.Value.SignInReadsAhead)
        {
            return await FindBySignInNameAsync(signInName, cancellationToken);
        }

        SignInReadAhead? found = null;
        if (MobileNumber.TryNormalize(signInName, out var mobile))
        {
            found = await ReadAhead(users.Users.Where(u => u.PhoneNumber == mobile)).FirstOrDefaultAsync(cancellationToken);
        }

        if (found is null)
        {
            var normalized = users.NormalizeName(signInName.Trim());
            found = await ReadAhead(users.Users.Where(u => u.NormalizedUserName == normalized)).FirstOrDefaultAsync(cancellationToken);
        }

        _readAhead = found;
        return found?.User;
    }

    /// <summary>Whether the account had known devices when <see cref="FindForPasswordSignInAsync"/> read it; null if it did not.</summary>
    public bool? HadKnownDevices(string userId) => _readAhead is { } read && read.User.Id == userId ? read.HasKnownDevices : null;

    /// <summary>The claims and roles <see cref="FindForPasswordSignInAsync"/> read for the account, once; null if it did not.</summary>
    public SignInReadAhead? TakeClaims(string userId)
    {
        if (_readAhead is not { ClaimsTaken: false } read || read.User.Id != userId)
        {
            return null;
        }

        read.ClaimsTaken = true;
        return read;
    }

    private IQueryable<SignInReadAhead> ReadAhead(IQueryable<ApplicationUser> accounts) =>
        accounts.AsSingleQuery().Select(u => new SignInReadAhead
        {
            User = u,
            HasKnownDevices = db.Set<KnownDevice>().Any(d => d.UserId == u.Id),
            Claims = db.UserClaims.Where(c => c.UserId == u.Id).Select(c => new StoredClaim(c.ClaimType, c.ClaimValue)).ToList(),
            Roles = (from ur in db.UserRoles
                     join r in db.Roles on ur.RoleId equals r.Id
                     where ur.UserId == u.Id
                     select r.Name).ToList(),
            RoleClaims = (from ur in db.UserRoles
                          join rc in db.RoleClaims on ur.RoleId equals rc.RoleId
                          join r in db.Roles on rc.RoleId equals r.Id
                          where ur.UserId == u.Id
                          select new RoleClaim(r.Name, rc.ClaimType, rc.ClaimValue)).ToList(),
        });
}

/// <summary>An account as the password sign-in reads it, with what a successful sign-in needs next (AccountLookup).</summary>
public sealed class SignInReadAhead
{
    public required ApplicationUser User { get; init; }

    public bool HasKnownDevices { get; init; }

    public required List<StoredClaim> Claims { get; init; }

    public required List<string?> Roles { get; init; }

    public required List<RoleClaim> RoleClaims { get; init; }

    internal bool ClaimsTaken { get; set; }
}

public sealed record StoredClaim(string? Type, string? Value);

public sealed record RoleClaim(string? Role, string? Type, string? Value);

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
