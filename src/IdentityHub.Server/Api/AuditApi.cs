using System.Globalization;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Registry;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Api;

/// <summary>
/// /api/audit: the auditors' API (role "auditor" only: platform and department administrators are refused, so
/// that those who run the registry cannot read citizens' histories or audit themselves). Every call is itself
/// recorded (audit.query, audit.export with the SHA-256 of the exported bytes).
/// </summary>
public static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder routes)
    {
        var audit = routes.MapGroup("/api/audit")
            .RequireAuthorization(AdminApi.Policy)
            .AddEndpointFilter<AdminActorFilter>()
            .AddEndpointFilter(AuditorOnlyAsync)
            .WithTags("Audit")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        audit.MapGet("/events", SearchAsync).Produces<AuditPage>().ProducesValidationProblem();
        audit.MapGet("/events/export", ExportAsync).Produces(StatusCodes.Status200OK, contentType: "text/csv").ProducesValidationProblem();
        audit.MapGet("/statistics/sign-ins", StatisticsAsync).Produces<SignInStatistics>().ProducesValidationProblem();
        audit.MapGet("/verify", VerifyAsync).Produces<AuditVerificationReport>();
        return routes;
    }

    private static async ValueTask<object?> AuditorOnlyAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.Actor().Role == AdminRole.Auditor
            ? await next(context)
            : RegistryProblems.Forbidden("The audit history is for auditors (role \"auditor\") only.");

    /// <summary>Newest first; pass <c>nextCursor</c> as <c>cursor</c> for the next page (keyset: no gaps or repeats while events arrive).</summary>
    private static async Task<IResult> SearchAsync(HttpContext http, [AsParameters] AuditSearchRequest request, AuditPersonResolver people,
        AuditQueries queries, IAuditLog audit)
    {
        var (filter, error) = await request.ToFilterAsync(people, http.RequestAborted);
        if (filter is null)
        {
            return JsonBody.Invalid(error!.Split(':')[0], error);
        }

        if (request.Cursor is { Length: > 0 } && AuditQueries.ParseCursor(request.Cursor) is null)
        {
            return JsonBody.Invalid("cursor", "Not a cursor this API returned.");
        }

        var page = await queries.SearchAsync(filter, request.Cursor, request.Limit ?? 50, http.RequestAborted);
        await audit.WriteAsync(http.Actor().Audit, new AuditQueried("events", request.Describe(), page.Items.Count));
        return TypedResults.Ok(page);
    }

    /// <summary>format=csv (default) or json. The SHA-256 of the body is in X-Content-SHA256 and in the audit.export event.</summary>
    private static async Task<IResult> ExportAsync(HttpContext http, [AsParameters] AuditSearchRequest request, string? format,
        AuditPersonResolver people, AuditExport export)
    {
        format = string.IsNullOrEmpty(format) ? "csv" : format.ToLowerInvariant();
        if (format is not ("csv" or "json"))
        {
            return JsonBody.Invalid("format", "\"csv\" or \"json\".");
        }

        var (filter, error) = await request.ToFilterAsync(people, http.RequestAborted);
        if (filter is null)
        {
            return JsonBody.Invalid(error!.Split(':')[0], error);
        }

        var file = await export.ExportAsync(http.Actor().Audit, filter, request.Describe(), format, http.RequestAborted);
        if (file is null)
        {
            return JsonBody.Invalid("filter", "Too many events match for one export: narrow the time range or the filter.");
        }

        http.Response.Headers["X-Content-SHA256"] = file.Sha256;
        // RFC 9530 Repr-Digest: the same digest as a structured field.
        http.Response.Headers["Repr-Digest"] = "sha-256=:" + Convert.ToBase64String(Convert.FromHexString(file.Sha256)) + ":";
        http.Response.Headers["X-Audit-Export-Count"] = file.Count.ToString(CultureInfo.InvariantCulture);
        return TypedResults.File(file.Content, file.ContentType, file.FileName);
    }

    /// <summary>Sign-ins per department per day (Audit:StatisticsUtcOffset days), from..to inclusive (default: the last 14 days).</summary>
    private static async Task<IResult> StatisticsAsync(HttpContext http, DateOnly? from, DateOnly? to, string? department, AuditStatistics statistics,
        IAuditLog audit, TimeProvider clock, IOptions<AuditOptions> options)
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime + options.Value.StatisticsUtcOffset);
        var last = to ?? today;
        var first = from ?? last.AddDays(-13);
        if (first > last || last.DayNumber - first.DayNumber >= AuditStatistics.MaxDays)
        {
            return JsonBody.Invalid("from", $"from must not be after to, and the range at most {AuditStatistics.MaxDays} days.");
        }

        var result = await statistics.SignInsAsync(first, last, department, http.RequestAborted);
        await audit.WriteAsync(http.Actor().Audit, new AuditQueried("statistics", new { from = first, to = last, department }, result.Days.Count));
        return TypedResults.Ok(result);
    }

    /// <summary>Recomputes every chain; <c>valid</c> false names the first altered, deleted, inserted or reordered row first.</summary>
    private static async Task<IResult> VerifyAsync(HttpContext http, AuditVerification verification, IAuditLog audit)
    {
        var report = await verification.VerifyAsync(http.RequestAborted);
        await audit.WriteAsync(http.Actor().Audit, new AuditQueried("verify", new { valid = report.Valid }, report.Findings.Count));
        return TypedResults.Ok(report);
    }
}
