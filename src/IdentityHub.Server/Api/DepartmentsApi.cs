using IdentityHub.Server.Registry;

namespace IdentityHub.Server.Api;

/// <summary>/api/admin/departments: list, read, create, update, suspend, activate, delete; ceilings.</summary>
public static class DepartmentsApi
{
    public static RouteGroupBuilder MapDepartments(this RouteGroupBuilder admin)
    {
        var departments = admin.MapGroup("/departments").WithTags("Departments");
        departments.MapGet("/", ListAsync).Produces<Paged<DepartmentResponse>>();
        departments.MapGet("/{code}", GetAsync).Produces<DepartmentResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        departments.MapPost("/", CreateAsync)
            .Accepts<DepartmentRequest>("application/json")
            .Produces<DepartmentResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        departments.MapPut("/{code}", UpdateAsync).Accepts<DepartmentRequest>("application/json").Produces<DepartmentResponse>().ProducesValidationProblem();
        departments.MapPost("/{code}/suspend", (HttpContext http, DepartmentRegistry registry, string code) =>
            StatusAsync(http, registry, code, DepartmentStatus.Suspended)).Produces<DepartmentResponse>();
        departments.MapPost("/{code}/activate", (HttpContext http, DepartmentRegistry registry, string code) =>
            StatusAsync(http, registry, code, DepartmentStatus.Active)).Produces<DepartmentResponse>();
        departments.MapDelete("/{code}", DeleteAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status409Conflict);
        departments.MapGet("/{code}/ceiling", GetCeilingAsync).Produces<CeilingResponse>();
        departments.MapPut("/{code}/ceiling", SetCeilingAsync).Accepts<CeilingRequest>("application/json").Produces<CeilingResponse>()
            .ProducesValidationProblem();
        return admin;
    }

    private static async Task<IResult> ListAsync(HttpContext http, DepartmentRegistry registry, string? status, string? q, int? page, int? pageSize) =>
        TypedResults.Ok(await registry.ListAsync(http.Actor(), new DepartmentQuery(status, q, new PageRequest(page ?? 1, pageSize ?? 50)),
            http.RequestAborted));

    private static async Task<IResult> GetAsync(HttpContext http, DepartmentRegistry registry, string code) =>
        (await registry.GetAsync(http.Actor(), code, http.RequestAborted)).ToHttp(TypedResults.Ok);

    private static async Task<IResult> CreateAsync(HttpContext http, DepartmentRegistry registry)
    {
        var (request, problem) = await JsonBody.ReadAsync<DepartmentRequest>(http.Request);
        if (request is null)
        {
            return problem!;
        }

        return (await registry.CreateAsync(http.Actor(), request, http.RequestAborted))
            .ToHttp(d => TypedResults.Created($"/api/admin/departments/{d.Code}", d));
    }

    private static async Task<IResult> UpdateAsync(HttpContext http, DepartmentRegistry registry, string code)
    {
        var (request, problem) = await JsonBody.ReadAsync<DepartmentRequest>(http.Request);
        if (request is null)
        {
            return problem!;
        }

        return (await registry.UpdateAsync(http.Actor(), code, request, http.RequestAborted)).ToHttp(TypedResults.Ok);
    }

    private static async Task<IResult> StatusAsync(HttpContext http, DepartmentRegistry registry, string code, DepartmentStatus status) =>
        (await registry.SetStatusAsync(http.Actor(), code, status, http.RequestAborted)).ToHttp(TypedResults.Ok);

    private static async Task<IResult> DeleteAsync(HttpContext http, DepartmentRegistry registry, string code) =>
        (await registry.DeleteAsync(http.Actor(), code, http.RequestAborted)).ToHttp(_ => TypedResults.NoContent());

    private static async Task<IResult> GetCeilingAsync(HttpContext http, DepartmentRegistry registry, string code) =>
        (await registry.GetCeilingAsync(http.Actor(), code, http.RequestAborted)).ToHttp(TypedResults.Ok);

    private static async Task<IResult> SetCeilingAsync(HttpContext http, DepartmentRegistry registry, string code)
    {
        var (request, problem) = await JsonBody.ReadAsync<CeilingRequest>(http.Request);
        if (request is null)
        {
            return problem!;
        }

        return (await registry.SetCeilingAsync(http.Actor(), code, request, http.RequestAborted)).ToHttp(TypedResults.Ok);
    }
}
