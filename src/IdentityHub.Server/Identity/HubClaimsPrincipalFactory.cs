using System.Security.Claims;
using IdentityHub.Server.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Identity;

/// <summary>
/// The sign-in cookie's principal, with the same claims, in the same order, as Identity's
/// <c>UserClaimsPrincipalFactory&lt;TUser, TRole&gt;</c>: user id, user name, email (if any), security stamp, the account's
/// own claims, then each role followed by that role's claims. Identity reads the account's claims, its roles and then
/// each role's claims in a round trip each; this reads all three in one (<see cref="AccountClaimRows"/>; docs/benchmarks.md,
/// the signin scenario).
/// Used for every cookie sign-in (password, passkey, SMS, second factors) and each security-stamp refresh.
/// </summary>
public sealed class HubClaimsPrincipalFactory(
    UserManager<ApplicationUser> users,
    IOptions<IdentityOptions> options,
    IdentityHubDbContext db,
    AccountLookup lookup)
    : UserClaimsPrincipalFactory<ApplicationUser>(users, options)
{
    protected override async Task<ClaimsIdentity> GenerateClaimsAsync(ApplicationUser user)
    {
        var types = Options.ClaimsIdentity;
        var userId = await UserManager.GetUserIdAsync(user);
        // The authentication type Identity's factory gives (IdentityConstants.ApplicationScheme).
        var identity = new ClaimsIdentity(IdentityConstants.ApplicationScheme, types.UserNameClaimType, types.RoleClaimType);
        identity.AddClaim(new Claim(types.UserIdClaimType, userId));
        identity.AddClaim(new Claim(types.UserNameClaimType, (await UserManager.GetUserNameAsync(user))!));
        if (await UserManager.GetEmailAsync(user) is { Length: > 0 } email)
        {
            identity.AddClaim(new Claim(types.EmailClaimType, email));
        }

        identity.AddClaim(new Claim(types.SecurityStampClaimType, await UserManager.GetSecurityStampAsync(user)));

        // Read now, unless the password sign-in read them with the account in this request (AccountLookup.FindForPasswordSignInAsync).
        var rows = lookup.TakeClaims(userId) ?? await AccountClaimRows.For(db, userId).ToListAsync();
        foreach (var row in rows.Where(r => r.Kind == AccountClaimRows.AccountClaim))
        {
            identity.AddClaim(new Claim(row.Type!, row.Value!));
        }

        foreach (var role in rows.Where(r => r.Kind == AccountClaimRows.Role && r.Role is not null))
        {
            identity.AddClaim(new Claim(types.RoleClaimType, role.Role!));
            foreach (var claim in rows.Where(r => r.Kind == AccountClaimRows.RoleClaim && r.Role == role.Role))
            {
                identity.AddClaim(new Claim(claim.Type!, claim.Value!));
            }
        }

        return identity;
    }
}
