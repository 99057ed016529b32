using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;

namespace IdentityHub.Server.Api;

/// <summary>/api/admin/registry (export, import), /api/admin/audit-events, /api/admin/users.</summary>
public static class RegistryApi
{
    public static RouteGroupBuilder MapRegistry(this RouteGroupBuilder admin)
    {
        admin.MapGet("/registry/export", ExportAsync).WithTags("Configuration").Produces<RegistryDocument>();
        admin.MapPost("/registry/import", ImportAsync).WithTags("Configuration").Accepts<RegistryDocument>("application/json")
            .Produces<ImportSummary>().ProducesValidationProblem();
        admin.MapGet("/audit-events", AuditEventsAsync).WithTags("Audit").Produces<Paged<AuditEventView>>();
        admin.MapPost("/users", CreateUserAsync).WithTags("Users")
            .Accepts<CreateUserRequest>("application/json")
            .Produces<CreateUserResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPut("/users/{userId}/roles", SetRolesAsync).WithTags("Users").Accepts<UserRolesRequest>("application/json")
            .Produces<UserRolesResponse>().ProducesValidationProblem();
        return admin;
    }

    private static async Task<IResult> ExportAsync(HttpContext http, RegistryTransfer transfer) =>
        (await transfer.ExportAsync(http.Actor(), http.RequestAborted)).ToHttp(TypedResults.Ok);

    private static async Task<IResult> ImportAsync(HttpContext http, RegistryTransfer transfer)
    {
        var (document, problem) = await JsonBody.ReadAsync<RegistryDocument>(http.Request);
        if (document is null)
        {
            return problem!;
        }

        return (await transfer.ImportAsync(http.Actor(), document, http.RequestAborted)).ToHttp(TypedResults.Ok);
    }

    /// <summary>Newest first. Platform administrators and auditors see every event; a department administrator their department's.</summary>
    private static async Task<IResult> AuditEventsAsync(HttpContext http, AuditQueries audit, string? targetType, string? targetId, int? page,
        int? pageSize)
    {
        var actor = http.Actor();
        var paging = new PageRequest(page ?? 1, pageSize ?? 50);
        var (items, total) = await audit.ListAsync(actor.CanRead(null) ? null : actor.DepartmentCode, targetType, targetId, paging.Skip,
            paging.SafePageSize, http.RequestAborted);
        return TypedResults.Ok(new Paged<AuditEventView>(items, total, paging.SafePage, paging.SafePageSize));
    }

    private static async Task<IResult> CreateUserAsync(HttpContext http, UserAdministration users)
    {
        if (!http.Actor().IsPlatform)
        {
            return RegistryProblems.Forbidden("Only a platform administrator opens accounts.");
        }

        var (request, problem) = await JsonBody.ReadAsync<CreateUserRequest>(http.Request);
        if (request is null)
        {
            return problem!;
        }

        var errors = new FieldErrors();
        var (result, response) = await users.CreateAsync(request, errors, http.Actor().Audit);
        return result switch
        {
            UserCreation.Invalid => errors.ToProblem(),
            UserCreation.DuplicateUserName => Problems.Conflict("userName", "The user name is taken."),
            UserCreation.DuplicatePhoneNumber => Problems.Conflict("phoneNumber", "The mobile number belongs to another account."),
            _ => TypedResults.Created($"/api/admin/users/{response!.Id}", response),
        };
    }

    private static async Task<IResult> SetRolesAsync(HttpContext http, AdminUsers users, string userId)
    {
        var (request, problem) = await JsonBody.ReadAsync<UserRolesRequest>(http.Request);
        if (request is null)
        {
            return problem!;
        }

        return (await users.SetRolesAsync(http.Actor(), userId, request, http.RequestAborted)).ToHttp(TypedResults.Ok);
    }
}
