using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Sends authorization request validation errors back to the client, as the specifications require.
/// OpenIddict redirects an error only when the whole request passed its validation, so a request
/// refused for, say, code_challenge_method=plain or a missing code_challenge ended on our error page.
/// RFC 6749 section 4.1.2.1 and RFC 7636 section 4.4.1 require the authorization error response
/// (error=invalid_request on the redirect_uri, with state) for every failure except a missing or
/// invalid client_id or redirect_uri. So the error is redirected when, and only when, the client
/// exists and the redirect_uri is exactly one registered for it (RFC 9700 section 4.1.3), and the
/// response mode is one the client reads; otherwise the error page stays (no open redirect).
/// </summary>
public sealed class RedirectValidationErrors(IOpenIddictApplicationManager applications)
    : IOpenIddictServerHandler<ApplyAuthorizationResponseContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyAuthorizationResponseContext>()
            .UseScopedHandler<RedirectValidationErrors>()
            // After OpenIddict attaches the validated redirect_uri, before it infers the response mode.
            .SetOrder(OpenIddictServerHandlers.Authentication.AttachRedirectUri.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ApplyAuthorizationResponseContext context)
    {
        var request = context.Request;
        if (request is null || !string.IsNullOrEmpty(context.RedirectUri) || string.IsNullOrEmpty(context.Error))
        {
            return;
        }

        var validation = context.Transaction.GetProperty<ValidateAuthorizationRequestContext>(
            typeof(ValidateAuthorizationRequestContext).FullName!);
        if (validation is not { IsRejected: true }
            || string.IsNullOrEmpty(request.ClientId)
            || string.IsNullOrEmpty(request.RedirectUri)
            || !(request.IsQueryResponseMode() || request.IsFragmentResponseMode() || request.IsFormPostResponseMode()))
        {
            return;
        }

        var application = await applications.FindByClientIdAsync(request.ClientId, context.CancellationToken);
        if (application is not null && await applications.ValidateRedirectUriAsync(application, request.RedirectUri, context.CancellationToken))
        {
            context.RedirectUri = request.RedirectUri;
        }
    }
}
