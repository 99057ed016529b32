using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Identity;

/// <summary>
/// What the sign-in cookie's principal carries besides the account's own columns (<see cref="HubClaimsPrincipalFactory"/>):
/// the account's claims, its roles and its roles' claims, as one list of rows told apart by <see cref="AccountClaimRow.Kind"/>.
/// One query shape for both readers: the factory (<see cref="For(IdentityHubDbContext, string)"/>) and the password
/// sign-in's read-ahead (<see cref="AccountLookup"/>, joined to the account row).
/// </summary>
public static class AccountClaimRows
{
    /// <summary>A claim of the account itself (AspNetUserClaims).</summary>
    public const int AccountClaim = 0;

    /// <summary>A role of the account (AspNetUserRoles, AspNetRoles); <see cref="AccountClaimRow.Role"/> is its name.</summary>
    public const int Role = 1;

    /// <summary>A claim of one of the account's roles (AspNetRoleClaims); <see cref="AccountClaimRow.Role"/> names the role.</summary>
    public const int RoleClaim = 2;

    /// <summary>The rows of one account, by id.</summary>
    public static IQueryable<AccountClaimRow> For(IdentityHubDbContext db, string userId) =>
        Of(db, db.Users.Where(u => u.Id == userId).Select(u => u.Id));

    /// <summary>
    /// The rows of the accounts whose ids <paramref name="userIds"/> selects: three <c>SELECT</c>s joined by
    /// <c>UNION ALL</c> (SQLite and PostgreSQL alike), each filtered by <paramref name="userIds"/> itself, so that no arm
    /// reads another account's rows and a join to the result cannot multiply them: one row per claim, role and role claim
    /// (a staff account with 5 claims, 3 roles and 15 role claims: 23 rows, where one <c>LEFT JOIN</c> per collection
    /// would give 5 x 3 x 15).
    /// </summary>
    public static IQueryable<AccountClaimRow> Of(IdentityHubDbContext db, IQueryable<string> userIds) =>
        db.UserClaims.Where(c => userIds.Contains(c.UserId))
            .Select(c => new AccountClaimRow { UserId = c.UserId, Kind = AccountClaim, Role = null, Type = c.ClaimType, Value = c.ClaimValue })
            .Concat(
                from ur in db.UserRoles
                join r in db.Roles on ur.RoleId equals r.Id
                where userIds.Contains(ur.UserId)
                select new AccountClaimRow { UserId = ur.UserId, Kind = Role, Role = r.Name, Type = null, Value = null })
            .Concat(
                from ur in db.UserRoles
                join r in db.Roles on ur.RoleId equals r.Id
                join rc in db.RoleClaims on r.Id equals rc.RoleId
                where userIds.Contains(ur.UserId)
                select new AccountClaimRow { UserId = ur.UserId, Kind = RoleClaim, Role = r.Name, Type = rc.ClaimType, Value = rc.ClaimValue });
}

/// <summary>One row of <see cref="AccountClaimRows"/>.</summary>
public sealed class AccountClaimRow
{
    public string UserId { get; set; } = "";

    public int Kind { get; set; }

    public string? Role { get; set; }

    public string? Type { get; set; }

    public string? Value { get; set; }
}
