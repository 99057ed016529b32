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
/// each role's claims in a round trip each; this reads all three in one (docs/benchmarks.md, the signin scenario).
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

        // Kind 0: the account's claims; 1: a role; 2: a claim of a role. Quoted names: the same SQL for SQLite and PostgreSQL.
        // The password sign-in read them with the account in this request (AccountLookup.FindForPasswordSignInAsync).
        var rows = lookup.TakeClaims(userId) is { } read ? Rows(read) : await db.Database.SqlQuery<ClaimRow>($"""
            SELECT 0 AS "Kind", NULL AS "Role", c."ClaimType" AS "Type", c."ClaimValue" AS "Value"
            FROM "AspNetUserClaims" AS c WHERE c."UserId" = {userId}
            UNION ALL
            SELECT 1, r."Name", NULL, NULL
            FROM "AspNetUserRoles" AS ur INNER JOIN "AspNetRoles" AS r ON r."Id" = ur."RoleId" WHERE ur."UserId" = {userId}
            UNION ALL
            SELECT 2, r."Name", rc."ClaimType", rc."ClaimValue"
            FROM "AspNetUserRoles" AS ur INNER JOIN "AspNetRoles" AS r ON r."Id" = ur."RoleId"
            INNER JOIN "AspNetRoleClaims" AS rc ON rc."RoleId" = r."Id" WHERE ur."UserId" = {userId}
            """).ToListAsync();

        foreach (var row in rows.Where(r => r.Kind == 0))
        {
            identity.AddClaim(new Claim(row.Type!, row.Value!));
        }

        foreach (var role in rows.Where(r => r.Kind == 1 && r.Role is not null))
        {
            identity.AddClaim(new Claim(types.RoleClaimType, role.Role!));
            foreach (var claim in rows.Where(r => r.Kind == 2 && r.Role == role.Role))
            {
                identity.AddClaim(new Claim(claim.Type!, claim.Value!));
            }
        }

        return identity;
    }

    /// <summary>The read-ahead's claims and roles as the query's rows.</summary>
    private static List<ClaimRow> Rows(SignInReadAhead read) =>
    [
        .. read.Claims.Select(c => new ClaimRow { Kind = 0, Type = c.Type, Value = c.Value }),
        .. read.Roles.Select(r => new ClaimRow { Kind = 1, Role = r }),
        .. read.RoleClaims.Select(c => new ClaimRow { Kind = 2, Role = c.Role, Type = c.Type, Value = c.Value }),
    ];

    internal sealed class ClaimRow
    {
        public int Kind { get; set; }

        public string? Role { get; set; }

        public string? Type { get; set; }

        public string? Value { get; set; }
    }
}
