using System.Text.Json;
using IdentityHub.Server.Verification;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Discovery metadata of the claims parameter (OpenID Connect Discovery 1.0 section 3) and of OpenID Identity
/// Assurance 1.0 (section 7: verified_claims_supported, trust_frameworks_supported, claims_in_verified_claims_supported,
/// evidence_supported), and the acr values naming identity assurance levels (<see cref="AssuranceRequirement"/>).
/// </summary>
public sealed class AttachIdentityAssuranceMetadata(IOptions<VerificationOptions> options) : IOpenIddictServerHandler<HandleConfigurationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>()
            .UseSingletonHandler<AttachIdentityAssuranceMetadata>()
            .SetOrder(AttachSupportedMetadata.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        context.Metadata["claims_parameter_supported"] = true;
        context.Metadata["verified_claims_supported"] = true;
        context.Metadata["trust_frameworks_supported"] = Array([options.Value.TrustFramework]);
        context.Metadata["claims_in_verified_claims_supported"] = Array(VerifiedClaims.Supported);
        context.Metadata["evidence_supported"] = Array(VerifiedClaims.EvidenceTypes);
        context.Metadata["documents_supported"] = Array(["idcard"]);
        context.Metadata["documents_check_methods_supported"] = Array(["vcrypt", "bvr"]);
        context.Metadata["electronic_records_supported"] = Array(["population_register", "mobile_carrier_register"]);

        // Keep acr values another part has advertised (login strength) beside ours.
        List<string> acr = context.Metadata.TryGetValue("acr_values_supported", out var existing) && (JsonElement)existing is { ValueKind: JsonValueKind.Array } values
            ? [.. values.EnumerateArray().Select(v => v.GetString()).OfType<string>()]
            : [];
        context.Metadata["acr_values_supported"] = Array([.. acr.Union(AssuranceRequirement.AcrValues)]);
        return ValueTask.CompletedTask;
    }

    private static OpenIddictParameter Array(IEnumerable<string> values) => new(JsonSerializer.SerializeToElement(values));
}
