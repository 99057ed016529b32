using System.Text.Json;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// A client that always needs multi-factor sign-in: the property "identityhub:require_mfa" = true on
/// its OpenIddict application. Kept in this one file so that the registry (the only writer of
/// applications) can expose it in the client administration API.
/// </summary>
public static class ClientMfaRequirement
{
    public const string Property = "identityhub:require_mfa";

    public static async Task<bool> IsRequiredAsync(IOpenIddictApplicationManager applications, string? clientId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(clientId) || await applications.FindByClientIdAsync(clientId, cancellationToken) is not { } application)
        {
            return false;
        }

        var properties = await applications.GetPropertiesAsync(application, cancellationToken);
        return properties.TryGetValue(Property, out var value) && value.ValueKind == JsonValueKind.True;
    }

    /// <summary>Sets or clears the requirement (for the registry and for tests).</summary>
    public static async Task SetAsync(IOpenIddictApplicationManager applications, string clientId, bool required, CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(clientId, cancellationToken)
            ?? throw new InvalidOperationException($"No client {clientId}.");
        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        descriptor.Properties[Property] = JsonSerializer.SerializeToElement(required);
        await applications.UpdateAsync(application, descriptor, cancellationToken);
    }
}

/// <summary>Whether an authorize request needs a multi-factor session: acr_values asks for it, or the client always does.</summary>
public static class MultiFactorRequirement
{
    public static async Task<bool> IsRequiredAsync(OpenIddictRequest request, IOpenIddictApplicationManager applications, CancellationToken cancellationToken)
    {
        // OIDC Core section 3.1.2.1: acr_values are voluntary claims; IdentityHub honours a request for
        // the multi-factor level by stepping up rather than by answering with a weaker acr.
        var acrValues = request.AcrValues?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        return acrValues.Contains(Factors.AuthenticationMethods.MultiFactorAcr, StringComparer.Ordinal)
            || await ClientMfaRequirement.IsRequiredAsync(applications, request.ClientId, cancellationToken);
    }
}
