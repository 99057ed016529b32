using IdentityHub.Server.Identity;
using IdentityHub.Server.Sessions;
using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Api;

public sealed record UserSessionsResponse(string UserId, IReadOnlyList<SessionSummary> Sessions);

public sealed record EndedSessionsResponse(string UserId, int Ended);

/// <summary>/api/admin/users/{userId}/sessions: an account's SSO sessions; ending them all (a lost phone, a compromised account).</summary>
public static class SessionsApi
{
    public static RouteGroupBuilder MapSessions(this RouteGroupBuilder admin)
    {
        admin.MapGet("/users/{userId}/sessions", ListAsync).WithTags("Sessions")
            .Produces<UserSessionsResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/users/{userId}/sessions", EndAllAsync).WithTags("Sessions")
            .Produces<EndedSessionsResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return admin;
    }

    /// <summary>Active sessions, newest activity first. Platform administrators and auditors: sessions are not a department's data.</summary>
    private static async Task<IResult> ListAsync(HttpContext http, SessionService sessions, UserManager<ApplicationUser> users, string userId)
    {
        if (!http.Actor().CanRead(null))
        {
            return RegistryProblems.Forbidden("Only platform administrators and auditors read an account's sessions.");
        }

        if (await users.FindByIdAsync(userId) is null)
        {
            return RegistryProblems.NotFound($"No account has id \"{userId}\".");
        }

        return TypedResults.Ok(new UserSessionsResponse(userId, await sessions.ListActiveAsync(userId, http.RequestAborted)));
    }

    /// <summary>Ends every open session of the account: its apps are told (back-channel) and its refresh tokens revoked.</summary>
    private static async Task<IResult> EndAllAsync(HttpContext http, SessionService sessions, UserManager<ApplicationUser> users, string userId)
    {
        var actor = http.Actor();
        if (!actor.IsPlatform)
        {
            return RegistryProblems.Forbidden("Only a platform administrator ends an account's sessions.");
        }

        if (await users.FindByIdAsync(userId) is null)
        {
            return RegistryProblems.NotFound($"No account has id \"{userId}\".");
        }

        var ended = await sessions.EndAllAsync(userId, SessionEndReason.Administrator, actor.Audit, http.RequestAborted);
        return TypedResults.Ok(new EndedSessionsResponse(userId, ended));
    }
}
