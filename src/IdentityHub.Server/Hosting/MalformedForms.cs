using System.Text.Json;

namespace IdentityHub.Server.Hosting;

/// <summary>
/// Reads a POSTed form once, up front, and answers 400 when ASP.NET Core refuses it (a NUL in a name or value, a value
/// over <c>FormOptions</c>' limits: <see cref="InvalidDataException"/>), instead of letting the refusal surface as an
/// unhandled exception (a 500) in OpenIddict's request extraction, a fast path or MVC's model binding. The protocol
/// endpoints answer as OAuth does (RFC 6749 section 5.2, invalid_request, JSON), the APIs with RFC 9457 problem details,
/// pages with the friendly error page (the status code pages re-execute /Error). The form is cached on the request
/// (IFormFeature), so every later ReadFormAsync reuses it: nothing is parsed twice.
/// </summary>
public sealed class MalformedForms(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problems)
    {
        if (HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType)
        {
            try
            {
                await context.Request.ReadFormAsync(context.RequestAborted);
            }
            catch (InvalidDataException)
            {
                // From here on the request's form is empty: the error page the status code pages re-execute (a POST
                // too) reads it again, and must not meet the same refusal.
                context.Features.Set<Microsoft.AspNetCore.Http.Features.IFormFeature>(
                    new Microsoft.AspNetCore.Http.Features.FormFeature(Microsoft.AspNetCore.Http.FormCollection.Empty));
                await RefuseAsync(context, problems);
                return;
            }
        }

        await next(context);
    }

    private static async Task RefuseAsync(HttpContext context, IProblemDetailsService problems)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        if (WebExtensions.IsApi(context))
        {
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = { Status = 400, Title = "The request body is not a valid form.", Type = "https://tools.ietf.org/html/rfc9110#section-15.5.1" },
            });
        }
        else if (WebExtensions.IsMachineEndpoint(context))
        {
            context.Response.ContentType = "application/json;charset=UTF-8";
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.Pragma = "no-cache";
            await JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, string>
            {
                ["error"] = "invalid_request",
                ["error_description"] = "The request body is not a valid form (a NUL character or a value over the size limits).",
            }, cancellationToken: context.RequestAborted);
        }

        // Pages: no body, so the status code pages show the localised error page for 400.
    }
}
