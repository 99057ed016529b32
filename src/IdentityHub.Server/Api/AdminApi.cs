using IdentityHub.Server.Identity;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;

namespace IdentityHub.Server.Api;

/// <summary>
/// /api/admin: bearer access tokens issued by this server (client credentials) carrying the
/// identityhub.admin scope. No token: 401; a token without the scope: 403 (RFC 6750 section 3.1).
/// </summary>
public static class AdminApi
{
    public const string Policy = "identityhub.admin";

    public static IServiceCollection AddAdminApi(this IServiceCollection services)
    {
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy
                .AddAuthenticationSchemes(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .RequireAssertion(context => context.User.HasScope(HubScopes.Admin)));
        services.AddScoped<DepartmentRegistry>();
        services.AddScoped<ClientRegistry>();
        services.AddScoped<UserAdministration>();
        return services;
    }

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/api/admin")
            .RequireAuthorization(Policy)
            .WithTags("Administration")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        admin.MapPost("/departments", AdminHandlers.CreateDepartmentAsync)
            .Accepts<DepartmentRequest>("application/json")
            .Produces<DepartmentResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        admin.MapPost("/clients", AdminHandlers.RegisterClientAsync)
            .Accepts<ClientRegistrationRequest>("application/json")
            .Produces<ClientRegistrationResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        admin.MapPost("/users", AdminHandlers.CreateUserAsync)
            .Accepts<CreateUserRequest>("application/json")
            .Produces<CreateUserResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        return routes;
    }
}

internal static class AdminHandlers
{
    public static async Task<IResult> CreateDepartmentAsync(HttpRequest http, DepartmentRegistry departments)
    {
        var (request, problem) = await JsonBody.ReadAsync<DepartmentRequest>(http);
        if (request is null)
        {
            return problem!;
        }

        var errors = new FieldErrors();
        DepartmentRegistry.Validate(request, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var department = await departments.CreateAsync(request, http.HttpContext.RequestAborted);
        return department is null
            ? Problems.Conflict("code", $"A department with code \"{request.Code}\" exists already.")
            : TypedResults.Created($"/api/admin/departments/{department.Code}", DepartmentRegistry.ToResponse(department));
    }

    public static async Task<IResult> RegisterClientAsync(HttpRequest http, ClientRegistry clients)
    {
        var (request, problem) = await JsonBody.ReadAsync<ClientRegistrationRequest>(http);
        if (request is null)
        {
            return problem!;
        }

        var errors = new FieldErrors();
        ClientRegistrationRules.Validate(request, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var (outcome, response) = await clients.RegisterAsync(request, http.HttpContext.RequestAborted);
        return outcome switch
        {
            RegistrationOutcome.UnknownDepartment => JsonBody.Invalid("departmentCode", $"No department has code \"{request.DepartmentCode}\"."),
            RegistrationOutcome.Duplicate => Problems.Conflict("clientId", $"A client with id \"{request.ClientId}\" exists already."),
            _ => TypedResults.Created($"/api/admin/clients/{response!.ClientId}", response),
        };
    }

    public static async Task<IResult> CreateUserAsync(HttpRequest http, UserAdministration users)
    {
        var (request, problem) = await JsonBody.ReadAsync<CreateUserRequest>(http);
        if (request is null)
        {
            return problem!;
        }

        var errors = new FieldErrors();
        var (result, response) = await users.CreateAsync(request, errors);
        return result switch
        {
            UserCreation.Invalid => errors.ToProblem(),
            UserCreation.DuplicateUserName => Problems.Conflict("userName", "The user name is taken."),
            UserCreation.DuplicatePhoneNumber => Problems.Conflict("phoneNumber", "The mobile number belongs to another account."),
            _ => TypedResults.Created($"/api/admin/users/{response!.Id}", response),
        };
    }
}
