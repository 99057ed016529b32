using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Identity;

/// <summary>Finds an account by the name a person types: a user name or a mobile number.</summary>
public sealed class AccountLookup(UserManager<ApplicationUser> users)
{
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
