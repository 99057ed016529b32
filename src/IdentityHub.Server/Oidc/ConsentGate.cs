using System.Collections.Immutable;
using System.Security.Claims;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Explicit consent (OIDC Core section 3.1.2.4): a client registered with consent mode "explicit" (a
/// department's app used by people of other departments' services) gets a code only after the person has
/// agreed, once, on /Account/Consent to what it will receive. The agreement is a permanent OpenIddict
/// authorization for (sub, client, scopes). Implicit clients (a department's own back-office systems) skip it.
/// </summary>
public sealed class ConsentGate(IOpenIddictApplicationManager applications, IOpenIddictAuthorizationManager authorizations)
{
    /// <summary>Added to the authorize URL by the consent page when the person declines.</summary>
    public const string DeclinedParameter = "ih_consent";

    public const string ConsentPage = "/Account/Consent";

    /// <summary>
    /// Null to go on; otherwise the page or error to answer with. The permanent authorization records the consent
    /// only: the tokens hang from the SSO session's own ad-hoc authorization (<see cref="Sessions.SessionService.JoinAsync"/>),
    /// so that a logout revokes them without revoking the consent.
    /// </summary>
    public async Task<IResult?> CheckAsync(OpenIddictRequest request, ClaimsIdentity identity, string subject, string returnUrl,
        CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(request.ClientId!, cancellationToken);
        if (application is null || !await applications.HasConsentTypeAsync(application, ConsentTypes.Explicit, cancellationToken))
        {
            return null;
        }

        if ((string?)request[DeclinedParameter] == "declined")
        {
            return OidcResults.Forbid(Errors.AccessDenied, "The person declined to share the requested information.");
        }

        var authorization = await FindAsync(subject, (await applications.GetIdAsync(application, cancellationToken))!, request.GetScopes(), cancellationToken);
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

    /// <summary>Records the person's agreement (called by the consent page after an antiforgery-checked POST).</summary>
    public async Task GrantAsync(string subject, string clientId, ImmutableArray<string> scopes, CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(clientId, cancellationToken)
            ?? throw new InvalidOperationException("Unknown client " + clientId);
        var applicationId = (await applications.GetIdAsync(application, cancellationToken))!;
        if (await FindAsync(subject, applicationId, scopes, cancellationToken) is not null)
        {
            return;
        }

        var identity = new ClaimsIdentity(authenticationType: "consent");
        identity.SetClaim(Claims.Subject, subject);
        identity.SetScopes(scopes);
        await authorizations.CreateAsync(identity, subject, applicationId, AuthorizationTypes.Permanent, scopes, cancellationToken);
    }

    private async Task<string?> FindAsync(string subject, string applicationId, ImmutableArray<string> scopes, CancellationToken cancellationToken)
    {
        await foreach (var authorization in authorizations.FindAsync(subject, applicationId, Statuses.Valid, AuthorizationTypes.Permanent, scopes, cancellationToken))
        {
            return await authorizations.GetIdAsync(authorization, cancellationToken);
        }

        return null;
    }
}
