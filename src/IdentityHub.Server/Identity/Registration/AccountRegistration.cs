using System.Security.Cryptography;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Identity.Registration;

public enum RegistrationResult
{
    Created,

    /// <summary>The (proved) number already has an account: the person is offered sign-in or recovery.</summary>
    MobileTaken,

    /// <summary>The password policy refused the password (<see cref="AccountRegistration.Errors"/>).</summary>
    PasswordRefused,
}

/// <summary>Self-service registration: an L1 account whose mobile number was proved by an SMS code.</summary>
public sealed class AccountRegistration(UserManager<ApplicationUser> users, IdentityHubDbContext db, IAuditLog audit)
{
    public IReadOnlyList<string> Errors { get; private set; } = [];

    /// <summary>What the password policy says about a password (empty: acceptable).</summary>
    public async Task<IReadOnlyList<string>> PasswordProblemsAsync(string password)
    {
        var problems = new List<string>();
        foreach (var validator in users.PasswordValidators)
        {
            var result = await validator.ValidateAsync(users, new ApplicationUser(), password);
            problems.AddRange(result.Errors.Select(e => e.Description));
        }

        return problems;
    }

    public async Task<(RegistrationResult Result, ApplicationUser? User)> CreateAsync(string mobile, string password, string? displayName)
    {
        if (await users.Users.AnyAsync(u => u.PhoneNumber == mobile))
        {
            return (RegistrationResult.MobileTaken, null);
        }

        var user = new ApplicationUser
        {
            // The mobile number is the sign-in name; the user name is an opaque handle (never a mobile number,
            // which AccountLookup would read as a phone number first).
            UserName = "u" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            PhoneNumber = mobile,
            PhoneNumberConfirmed = true,
            DisplayName = string.IsNullOrWhiteSpace(displayName) ? null : displayName.Trim(),
            AssuranceLevel = AssuranceLevels.Minimum,
        };

        IdentityResult created;
        try
        {
            created = await users.CreateAsync(user, password);
        }
        catch (DbUpdateException)
        {
            // The unique mobile index caught a concurrent registration.
            return (RegistrationResult.MobileTaken, null);
        }

        if (!created.Succeeded)
        {
            Errors = created.Errors.Select(e => e.Description).ToList();
            return (RegistrationResult.PasswordRefused, null);
        }

        audit.Add(AuditActor.User(user.Id, user.UserName), new AccountRegistered(user.Id, new { level = "L1", mobile = Masking.Phone(mobile) }));
        await db.SaveChangesAsync();
        return (RegistrationResult.Created, user);
    }
}

public sealed record AccountRegistered(string UserId, object After) : AuditRecord(UserId, null, null, After)
{
    public override string EventType => "identity.registered";

    public override string TargetType => "user";

    public override string? SubjectId => UserId;
}
