using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.Enterprises;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.WebUtilities;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Whom the person acts for in this authorization: asked only when the client requested the enterprise scope, its
/// policy releases the enterprise claim, and the person represents or is an agent of an enterprise. The chooser
/// page returns the choice in <see cref="Parameter"/>; it is checked against the mandates of the moment (a
/// revoked agent is asked again, without that enterprise).
/// </summary>
public static class ActingChoice
{
    public const string Parameter = "ih_acting";
    public const string Self = "self";
    public const string Page = "/Account/ActingFor";

    /// <param name="choice">The chooser's answer (<see cref="Parameter"/> of the authorize URL), or null.</param>
    public static async Task<(ActingFor? Acting, IResult? Answer)> ResolveAsync(OpenIddictRequest request, string? choice, ClientPolicy client,
        ApplicationUser user, AgentMandates mandates, string returnUrl, CancellationToken cancellationToken)
    {
        if (!request.HasScope(HubScopes.Enterprise) || client.Claims.ModeOf(ClaimCatalog.Enterprise) == ReleaseMode.None)
        {
            return (null, null);
        }

        var options = await mandates.ActingOptionsAsync(user.Id, cancellationToken);
        if (options.Count == 0 || choice == Self)
        {
            return (null, null);
        }

        if (options.FirstOrDefault(o => o.EnterpriseId == choice) is { } chosen)
        {
            return (chosen, null);
        }

        // OIDC Core section 3.1.2.1: no page with prompt=none; the person then acts for themselves.
        return request.HasPromptValue(PromptValues.None)
            ? (null, null)
            : (null, Results.Redirect(Page + QueryString.Create("ReturnUrl", WithoutChoice(returnUrl))));
    }

    /// <summary>The authorize URL without an earlier choice.</summary>
    public static string WithoutChoice(string authorizeUrl)
    {
        var question = authorizeUrl.IndexOf('?', StringComparison.Ordinal);
        if (question < 0)
        {
            return authorizeUrl;
        }

        var kept = QueryHelpers.ParseQuery(authorizeUrl[question..]).Where(p => p.Key != Parameter)
            .SelectMany(p => p.Value.Select(v => KeyValuePair.Create(p.Key, v)));
        return authorizeUrl[..question] + QueryString.Create(kept);
    }
}
