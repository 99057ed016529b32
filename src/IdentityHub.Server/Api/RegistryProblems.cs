using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Api;

/// <summary>Registry results as HTTP answers: every failure an RFC 9457 problem.</summary>
public static class RegistryProblems
{
    public static IResult ToHttp<T>(this RegistryResult<T> result, Func<T, IResult> ok) => result.Outcome switch
    {
        RegistryOutcome.Ok => ok(result.Value!),
        RegistryOutcome.Invalid => result.Errors!.ToProblem(),
        RegistryOutcome.NotFound => NotFound(result.Message!.English()),
        RegistryOutcome.Forbidden => Forbidden(result.Message!.English()),
        _ => Problems.Conflict(result.Field!, result.Message!.English()),
    };

    /// <summary>403 (RFC 9110 section 15.5.4): authenticated, but this role may not do this.</summary>
    public static IResult Forbidden(string detail) => TypedResults.Problem(new ProblemDetails
    {
        Status = StatusCodes.Status403Forbidden,
        Title = "Forbidden",
        Detail = detail,
        Type = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4",
    });

    /// <summary>404 (RFC 9110 section 15.5.5).</summary>
    public static IResult NotFound(string detail) => TypedResults.Problem(new ProblemDetails
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Not Found",
        Detail = detail,
        Type = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5",
    });
}
