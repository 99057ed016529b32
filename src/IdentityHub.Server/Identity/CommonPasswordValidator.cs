using System.Collections.Frozen;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Identity;

/// <summary>
/// Refuses passwords from a list of the most common ones (NIST SP 800-63B section 5.1.1.2: compare
/// against "passwords obtained from previous breach corpuses"), and a password that is the account's
/// own user name or mobile number. The list ships with the server (common-passwords.txt: its header
/// says where it comes from) and is compared case-insensitively.
/// </summary>
public sealed class CommonPasswordValidator(IStringLocalizer<SharedResource> text) : IPasswordValidator<ApplicationUser>
{
    private static readonly Lazy<FrozenSet<string>> Common = new(Load);

    public static int Count => Common.Value.Count;

    public Task<IdentityResult> ValidateAsync(UserManager<ApplicationUser> manager, ApplicationUser user, string? password)
    {
        var candidate = (password ?? "").Trim();
        if (Common.Value.Contains(candidate)
            || string.Equals(candidate, user.UserName, StringComparison.OrdinalIgnoreCase)
            || (user.PhoneNumber is not null && candidate.Contains(user.PhoneNumber, StringComparison.Ordinal)))
        {
            return Task.FromResult(IdentityResult.Failed(new IdentityError { Code = "PasswordTooCommon", Description = text["Password_TooCommon"] }));
        }

        return Task.FromResult(IdentityResult.Success);
    }

    private static FrozenSet<string> Load()
    {
        using var stream = typeof(CommonPasswordValidator).Assembly.GetManifestResourceStream("IdentityHub.Server.Identity.common-passwords.txt")
            ?? throw new InvalidOperationException("The embedded common-passwords.txt is missing.");
        using var reader = new StreamReader(stream);
        var words = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0 && line[0] != '#')
            {
                words.Add(line.Trim());
            }
        }

        return words.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }
}
