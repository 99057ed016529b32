using IdentityHub.Server.Registry;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Whether an authorize request needs a multi-factor session: acr_values asks for it, or the client always does
/// (the registry's <see cref="HubApplication.RequireMultiFactor"/>, set with the client's policy in the admin API and console).
/// </summary>
public static class MultiFactorRequirement
{
    public static bool IsRequired(OpenIddictRequest request, ClientPolicy client)
    {
        // OIDC Core section 3.1.2.1: acr_values are voluntary claims; IdentityHub honours a request for
        // the multi-factor level by stepping up rather than by answering with a weaker acr.
        var acrValues = request.AcrValues?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        return client.RequireMultiFactor || acrValues.Contains(Factors.AuthenticationMethods.MultiFactorAcr, StringComparer.Ordinal);
    }
}
