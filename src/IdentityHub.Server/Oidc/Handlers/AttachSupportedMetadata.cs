using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Adds to the discovery document what OpenIddict does not know about us
/// (OpenID Connect Discovery 1.0 section 3).
/// </summary>
public sealed class AttachSupportedMetadata : IOpenIddictServerHandler<HandleConfigurationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>()
            .UseSingletonHandler<AttachSupportedMetadata>()
            .SetOrder(OpenIddictServerHandlers.Discovery.AttachAdditionalMetadata.Descriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        // The sign-in pages speak Simplified Chinese and English; ui_locales picks one.
        context.Metadata["ui_locales_supported"] = new OpenIddictParameter(System.Text.Json.JsonSerializer.SerializeToElement(new[] { "zh-CN", "en" }));
        // Single- and multi-factor levels (Factors/AuthenticationMethods); acr_values asking for mfa steps up.
        context.Metadata[OpenIddictConstants.Metadata.AcrValuesSupported] = new OpenIddictParameter(
            System.Text.Json.JsonSerializer.SerializeToElement(Factors.AuthenticationMethods.SupportedAcrValues));
        // claims_parameter_supported and the identity assurance metadata: AttachIdentityAssuranceMetadata.
        context.Metadata["request_parameter_supported"] = false;
        context.Metadata["request_uri_parameter_supported"] = false;
        // OpenID Connect Back-Channel Logout 1.0 section 2.1 and Front-Channel Logout 1.0 section 3 (Sessions/):
        // logout tokens and front-channel iframes carry sid (and iss).
        context.Metadata["backchannel_logout_supported"] = true;
        context.Metadata["backchannel_logout_session_supported"] = true;
        context.Metadata["frontchannel_logout_supported"] = true;
        context.Metadata["frontchannel_logout_session_supported"] = true;
        return ValueTask.CompletedTask;
    }
}
