using IdentityHub.Server.Audit;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc.Revocation;
using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Security;

/// <summary>
/// Failed checks of any factor count towards the account's lockout (Identity's AccessFailedCount), and
/// the moment an account becomes locked is audited and told to its owner. From that moment the access tokens
/// already issued in the account's sessions are refused too (userinfo, introspection), as the token endpoint
/// refuses their refresh tokens while the account is locked.
/// </summary>
public sealed class Lockouts(UserManager<ApplicationUser> users, SecurityEvents events, ISessionStore sessions,
    AccessTokenRevocations accessTokens)
{
    /// <summary>Counts a failed check of <paramref name="method"/>; true when the account is now locked.</summary>
    public async Task<bool> FailAsync(ApplicationUser user, AccountAction action, string method)
    {
        var wasLocked = await users.IsLockedOutAsync(user);
        await users.AccessFailedAsync(user);
        await events.RecordAsync(action, user.Id, method);
        return await NoteIfNewlyLockedAsync(user, wasLocked);
    }

    /// <summary>After a check that may have locked the account: audits and alerts if it did just now.</summary>
    public async Task<bool> NoteIfNewlyLockedAsync(ApplicationUser user, bool wasLocked)
    {
        var locked = await users.IsLockedOutAsync(user);
        if (locked && !wasLocked)
        {
            await events.RecordAsync(AccountAction.LockedOut, user.Id);
            await accessTokens.RevokeIssuedUntilNowAsync(RevocationKinds.Session,
                await sessions.OpenSessionIdsAsync(user.Id, CancellationToken.None), CancellationToken.None);
            await events.AlertAsync(user, SecurityMessageKind.AccountLocked);
        }

        return locked;
    }
}
