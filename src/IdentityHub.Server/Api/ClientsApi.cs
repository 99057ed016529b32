using IdentityHub.Server.Registry;

namespace IdentityHub.Server.Api;

/// <summary>/api/admin/clients: list, read, register, update, disable, enable, delete; secrets; claim policies.</summary>
public static class ClientsApi
{
    public static RouteGroupBuilder MapClients(this RouteGroupBuilder admin)
    {
        var clients = admin.MapGroup("/clients").WithTags("Clients");
        clients.MapGet("/", ListAsync).Produces<Paged<ClientResponse>>();
        clients.MapGet("/{clientId}", GetAsync).Produces<ClientResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        clients.MapPost("/", RegisterAsync)
            .Accepts<ClientRegistrationRequest>("application/json")
            .Produces<ClientRegistrationResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        clients.MapPut("/{clientId}", UpdateAsync).Accepts<ClientRegistrationRequest>("application/json").Produces<ClientResponse>()
            .ProducesValidationProblem();
        clients.MapPost("/{clientId}/disable", (HttpContext http, ClientRegistry registry, string clientId) =>
            StatusAsync(http, registry, clientId, ClientStatus.Disabled)).Produces<ClientResponse>();
        clients.MapPost("/{clientId}/enable", (HttpContext http, ClientRegistry registry, string clientId) =>
            StatusAsync(http, registry, clientId, ClientStatus.Active)).Produces<ClientResponse>();
        clients.MapDelete("/{clientId}", DeleteAsync).Produces(StatusCodes.Status204NoContent);

        clients.MapGet("/{clientId}/secrets", ListSecretsAsync).Produces<IReadOnlyList<SecretResponse>>();
        clients.MapPost("/{clientId}/secrets", RotateSecretAsync)
            .Accepts<RotateSecretRequest>("application/json")
            .Produces<NewSecretResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        clients.MapDelete("/{clientId}/secrets/{secretId}", RevokeSecretAsync).Produces<SecretResponse>();

        clients.MapGet("/{clientId}/claim-policy", GetPolicyAsync).Produces<ClaimPolicyResponse>();
        clients.MapPut("/{clientId}/claim-policy", SetPolicyAsync).Accepts<ClaimPolicyRequest>("application/json").Produces<ClaimPolicyResponse>()
            .ProducesValidationProblem();
        return admin;
    }

    private static async Task<IResult> ListAsync(HttpContext http, ClientQueries queries, string? department, string? status, string? kind,
        string? q, int? page, int? pageSize) =>
        TypedResults.Ok(await queries.ListAsync(http.Actor(),
            new ClientQuery(department, status, kind, q, new PageRequest(page ?? 1, pageSize ?? 50)), http.RequestAborted));

    private static async Task<IResult> GetAsync(HttpContext http, ClientQueries queries, string clientId) =>
        (await queries.GetAsync(http.Actor(), clientId, http.RequestAborted)).ToHttp(TypedResults.Ok);

    private static async Task<IResult> RegisterAsync(HttpContext http, ClientRegistry registry)
    {
        var (request, problem) = await JsonBody.ReadAsync<ClientRegistrationRequest>(http.Request);
        if (request is null)
        {
            return problem!;
        }

        return (await registry.RegisterAsync(http.Actor(), request, http.RequestAborted))
            .ToHttp(r => TypedResults.Created($"/api/admin/clients/{r.ClientId}", r));
    }

    private static async Task<IResult> UpdateAsync(HttpContext http, ClientRegistry registry, string clientId)
    {
        var (request, problem) = await JsonBody.ReadAsync<ClientRegistrationRequest>(http.Request);
        if (request is null)
        {
            return problem!;
        }

        return (await registry.UpdateAsync(http.Actor(), clientId, request, http.RequestAborted)).ToHttp(TypedResults.Ok);
    }

    private static async Task<IResult> StatusAsync(HttpContext http, ClientRegistry registry, string clientId, ClientStatus status) =>
        (await registry.SetStatusAsync(http.Actor(), clientId, status, http.RequestAborted)).ToHttp(TypedResults.Ok);

    private static async Task<IResult> DeleteAsync(HttpContext http, ClientRegistry registry, string clientId) =>
        (await registry.DeleteAsync(http.Actor(), clientId, http.RequestAborted)).ToHttp(_ => TypedResults.NoContent());

    private static async Task<IResult> ListSecretsAsync(HttpContext http, ClientSecretService secrets, string clientId) =>
        (await secrets.ListAsync(http.Actor(), clientId, http.RequestAborted)).ToHttp(TypedResults.Ok);

    /// <summary>Rotation: the new secret is in this answer only; the old ones keep working until revoked.</summary>
    private static async Task<IResult> RotateSecretAsync(HttpContext http, ClientSecretService secrets, string clientId)
    {
        var request = new RotateSecretRequest(null);
        if (http.Request.ContentLength is > 0 || http.Request.HasJsonContentType())
        {
            var (body, problem) = await JsonBody.ReadAsync<RotateSecretRequest>(http.Request);
            if (body is null)
            {
                return problem!;
            }

            request = body;
        }

        return (await secrets.RotateAsync(http.Actor(), clientId, request, http.RequestAborted))
            .ToHttp(s => TypedResults.Created($"/api/admin/clients/{clientId}/secrets/{s.Id}", s));
    }

    private static async Task<IResult> RevokeSecretAsync(HttpContext http, ClientSecretService secrets, string clientId, string secretId) =>
        (await secrets.RevokeAsync(http.Actor(), clientId, secretId, http.RequestAborted)).ToHttp(TypedResults.Ok);

    private static async Task<IResult> GetPolicyAsync(HttpContext http, ClaimPolicyService policies, string clientId) =>
        (await policies.GetAsync(http.Actor(), clientId, http.RequestAborted)).ToHttp(TypedResults.Ok);

    private static async Task<IResult> SetPolicyAsync(HttpContext http, ClaimPolicyService policies, string clientId)
    {
        var (request, problem) = await JsonBody.ReadAsync<ClaimPolicyRequest>(http.Request);
        if (request is null)
        {
            return problem!;
        }

        return (await policies.SetAsync(http.Actor(), clientId, request, http.RequestAborted)).ToHttp(TypedResults.Ok);
    }
}
