using System.Collections.Immutable;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Consent (OIDC Core section 3.1.2.4). A client registered with consent mode "explicit" (a department's app
/// used by people of other departments' services) gets a code only after the person has agreed, once, on
/// /Account/Consent to what it will receive. The agreement is a permanent OpenIddict authorization for
/// (sub, client, scopes), which also records the authorize request it was given for.
/// <para>
/// prompt=consent (OIDC Core section 3.1.2.1: the OP SHOULD prompt the person for consent) shows the page
/// again although consent was given before: only an agreement given on the page for this very authorize
/// request, within <see cref="OidcOptions.ForcedLoginWindow"/>, lets it through. This holds for implicit
/// clients too. Decision: the city's implicit consent for a department's own back-office systems means
/// the page is not shown unasked, but when such a client asks for it with prompt=consent, the person is
/// asked as the specification recommends (there is no reason to refuse; the client wants the question put).
/// prompt=none when consent is needed answers consent_required.
/// </para>
/// </summary>
public sealed class ConsentGate(
    IOpenIddictApplicationManager applications,
    IOpenIddictAuthorizationManager authorizations,
    IOptions<OidcOptions> options)
{
    /// <summary>Added to the authorize URL by the consent page when the person declines.</summary>
    public const string DeclinedParameter = "ih_consent";

    public const string ConsentPage = "/Account/Consent";

    /// <summary>Authorization property: the hash of the authorize request (its URL) the consent was given for.</summary>
    public const string ConsentForProperty = "ih.consent_for";

    /// <summary>
    /// Null to go on; otherwise the page or error to answer with. The permanent authorization records the consent
    /// only: the tokens hang from the SSO session's own ad-hoc authorization (<see cref="Sessions.SessionService.JoinAsync"/>),
    /// so that a logout revokes them without revoking the consent.
    /// </summary>
    public async Task<IResult?> CheckAsync(OpenIddictRequest request, ClaimsIdentity identity, string subject, string returnUrl,
        CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(request.ClientId!, cancellationToken);
        if (application is null)
        {
            return null;
        }

        var promptConsent = request.HasPromptValue(PromptValues.Consent);
        if (!promptConsent && !await applications.HasConsentTypeAsync(application, ConsentTypes.Explicit, cancellationToken))
        {
            return null;
        }

        if ((string?)request[DeclinedParameter] == "declined")
        {
            return OidcResults.Forbid(Errors.AccessDenied, "The person declined to share the requested information.");
        }

        var applicationId = (await applications.GetIdAsync(application, cancellationToken))!;
        var authorization = await FindAsync(subject, applicationId, request.GetScopes(), promptConsent ? returnUrl : null, cancellationToken);
        if (authorization is not null)
        {
            return null;
        }

        // OIDC Core section 3.1.2.1: prompt=none must not show the consent page.
        if (request.HasPromptValue(PromptValues.None))
        {
            return OidcResults.Forbid(Errors.ConsentRequired, "The person has not consented to this client.");
        }

        return Results.Redirect(ConsentPage + QueryString.Create("ReturnUrl", returnUrl));
    }

    /// <summary>
    /// Records the person's agreement to the authorize request <paramref name="returnUrl"/> (called by the
    /// consent page after an antiforgery-checked POST).
    /// </summary>
    public async Task GrantAsync(string subject, string clientId, ImmutableArray<string> scopes, string returnUrl, CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(clientId, cancellationToken)
            ?? throw new InvalidOperationException("Unknown client " + clientId);
        var applicationId = (await applications.GetIdAsync(application, cancellationToken))!;
        if (await FindAsync(subject, applicationId, scopes, returnUrl, cancellationToken) is not null)
        {
            return;
        }

        var identity = new ClaimsIdentity(authenticationType: "consent");
        identity.SetClaim(Claims.Subject, subject);
        identity.SetScopes(scopes);
        var descriptor = new OpenIddictAuthorizationDescriptor
        {
            ApplicationId = applicationId,
            CreationDate = DateTimeOffset.UtcNow,
            Principal = new ClaimsPrincipal(identity),
            Status = Statuses.Valid,
            Subject = subject,
            Type = AuthorizationTypes.Permanent,
        };
        descriptor.Scopes.UnionWith(scopes);
        descriptor.Properties[ConsentForProperty] = JsonSerializer.SerializeToElement(AuthorizeEndpoint.HashReturnUrl(returnUrl));
        await authorizations.CreateAsync(descriptor, cancellationToken);
    }

    /// <summary>
    /// A valid permanent authorization covering the scopes; when <paramref name="forRequest"/> is given, only
    /// one given for that authorize request, recently (prompt=consent).
    /// </summary>
    private async Task<string?> FindAsync(string subject, string applicationId, ImmutableArray<string> scopes, string? forRequest,
        CancellationToken cancellationToken)
    {
        var hash = forRequest is null ? null : AuthorizeEndpoint.HashReturnUrl(forRequest);
        var since = DateTimeOffset.UtcNow - options.Value.ForcedLoginWindow;
        await foreach (var authorization in authorizations.FindAsync(subject, applicationId, Statuses.Valid, AuthorizationTypes.Permanent, scopes, cancellationToken))
        {
            if (hash is not null)
            {
                var properties = await authorizations.GetPropertiesAsync(authorization, cancellationToken);
                var created = await authorizations.GetCreationDateAsync(authorization, cancellationToken);
                if (!properties.TryGetValue(ConsentForProperty, out var consentFor) || consentFor.ValueKind != JsonValueKind.String
                    || consentFor.GetString() != hash || created is null || created < since)
                {
                    continue;
                }
            }

            return await authorizations.GetIdAsync(authorization, cancellationToken);
        }

        return null;
    }
}
