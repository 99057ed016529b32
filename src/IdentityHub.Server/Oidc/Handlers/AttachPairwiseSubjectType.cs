using IdentityHub.Server.Registry;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Discovery's subject_types_supported (OpenID Connect Discovery 1.0 section 3) lists "pairwise" beside
/// OpenIddict's "public": each client is registered with one of them (<see cref="SubjectType"/>).
/// </summary>
public sealed class AttachPairwiseSubjectType : IOpenIddictServerHandler<HandleConfigurationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>()
            .UseSingletonHandler<AttachPairwiseSubjectType>()
            .SetOrder(OpenIddictServerHandlers.Discovery.AttachSubjectTypes.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        context.SubjectTypes.Add("pairwise");
        return ValueTask.CompletedTask;
    }
}
