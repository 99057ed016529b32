using IdentityHub.Server.Api;
using IdentityHub.Server.Registry;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Identity;

/// <summary>Body of POST /api/admin/users: an account opened by a service-hall clerk.</summary>
public sealed record CreateUserRequest(string? UserName, string? Password, string? PhoneNumber, string? DisplayName);

public sealed record CreateUserResponse(string Id);

public enum UserCreation
{
    Created,
    Invalid,
    DuplicateUserName,
    DuplicatePhoneNumber,
}

/// <summary>Opens accounts; the account.created event is saved in the same transaction as the account.</summary>
public sealed class UserAdministration(UserManager<ApplicationUser> users, IdentityHubDbContext db, IAuditLog audit)
{
    public async Task<(UserCreation Result, CreateUserResponse? Response)> CreateAsync(CreateUserRequest request, FieldErrors errors,
        AuditActor? actor = null)
    {
        if (string.IsNullOrWhiteSpace(request.UserName))
        {
            errors.Add("userName", new(RegistryCodes.Required));
        }
        else if (MobileNumber.TryNormalize(request.UserName, out _))
        {
            // The sign-in page reads a mobile number as a phone number first (AccountLookup): such a user
            // name would sign in to whichever account holds that number.
            errors.Add("userName", new(RegistryCodes.UserNameMobile));
        }

        if (string.IsNullOrEmpty(request.Password))
        {
            errors.Add("password", new(RegistryCodes.Required));
        }

        string? mobile = null;
        if (request.PhoneNumber is not null)
        {
            if (MobileNumber.TryNormalize(request.PhoneNumber, out var normalized))
            {
                mobile = normalized;
            }
            else
            {
                errors.Add("phoneNumber", new(RegistryCodes.MobileFormat));
            }
        }

        if (request.DisplayName is { Length: > 100 })
        {
            errors.Add("displayName", new(RegistryCodes.MaxLength, 100));
        }

        if (errors.Any)
        {
            return (UserCreation.Invalid, null);
        }

        if (await users.FindByNameAsync(request.UserName!.Trim()) is not null)
        {
            return (UserCreation.DuplicateUserName, null);
        }

        if (mobile is not null && await users.Users.AnyAsync(u => u.PhoneNumber == mobile))
        {
            return (UserCreation.DuplicatePhoneNumber, null);
        }

        var user = new ApplicationUser
        {
            UserName = request.UserName.Trim(),
            PhoneNumber = mobile,
            // The clerk saw the citizen's phone at the counter; an SMS proof arrives with the factors issue.
            PhoneNumberConfirmed = false,
            DisplayName = request.DisplayName?.Trim(),
        };

        IdentityResult result;
        await using var transaction = await db.Database.BeginTransactionAsync();
        try
        {
            result = await users.CreateAsync(user, request.Password!);
        }
        catch (DbUpdateException)
        {
            // A unique index caught a concurrent registration of the same name or number.
            await transaction.RollbackAsync();
            return await users.FindByNameAsync(user.UserName) is not null
                ? (UserCreation.DuplicateUserName, null)
                : (UserCreation.DuplicatePhoneNumber, null);
        }

        if (result.Succeeded)
        {
            audit.Add(actor ?? AuditActor.System("accounts"), new AccountCreated(user.Id,
                new { userName = user.UserName, hasPhoneNumber = mobile is not null, hasDisplayName = user.DisplayName is not null }));
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
            return (UserCreation.Created, new CreateUserResponse(user.Id));
        }

        foreach (var error in result.Errors)
        {
            if (error.Code is nameof(IdentityErrorDescriber.DuplicateUserName))
            {
                return (UserCreation.DuplicateUserName, null);
            }

            var field = error.Code.StartsWith("Password", StringComparison.Ordinal) ? "password"
                : error.Code.Contains("UserName", StringComparison.Ordinal) ? "userName"
                : "body";
            errors.Add(field, RegistryMessage.Verbatim(error.Description));
        }

        return (UserCreation.Invalid, null);
    }
}
