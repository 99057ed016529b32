using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Api;

/// <summary>
/// Resolves the caller's registry role for every /api/admin request (403 without one). A person calling
/// with the sign-in cookie must send the header <c>X-IdentityHub-Csrf: 1</c> on changes: a cross-site form
/// cannot set it, and a cross-site script cannot send it without a CORS preflight this server refuses.
/// </summary>
public sealed class AdminActorFilter : IEndpointFilter
{
    public const string CsrfHeader = "X-IdentityHub-Csrf";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var actor = await http.RequestServices.GetRequiredService<AdminActorResolver>().ResolveAsync(http.User);
        if (actor is null)
        {
            return RegistryProblems.Forbidden(
                "A registry role is required: the identityhub.admin scope (bootstrap client), or platform-admin, department-admin or auditor.");
        }

        var cookie = http.User.Identity?.AuthenticationType == IdentityConstants.ApplicationScheme;
        if (cookie && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
            && http.Request.Headers[CsrfHeader] != "1")
        {
            return RegistryProblems.Forbidden($"Changes made with the sign-in cookie need the header {CsrfHeader}: 1.");
        }

        http.Items[typeof(AdminActor)] = actor;
        return await next(context);
    }
}

public static class AdminActorHttpContextExtensions
{
    public static AdminActor Actor(this HttpContext context) =>
        context.Items[typeof(AdminActor)] as AdminActor ?? throw new InvalidOperationException("AdminActorFilter did not run.");
}
