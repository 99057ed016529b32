using IdentityHub.Server.Verification.Adapters;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Verification;

/// <summary>Creates the adapter of a configured provider (Verification:Providers:{name}:Adapter picks the class).</summary>
public sealed class AuthorityAdapters(IHttpClientFactory httpClients, IOptions<VerificationOptions> options)
{
    public const string HttpClientName = "verification-authorities";

    public IVerificationAdapter? Find(string provider) =>
        options.Value.Providers.TryGetValue(provider, out var settings) ? Create(provider, settings, httpClients.CreateClient(HttpClientName)) : null;

    public static IVerificationAdapter Create(string provider, AuthorityOptions settings, HttpClient http) => settings.Adapter switch
    {
        AdapterType.PublicSecurity => new PublicSecurityAdapter(provider, settings, http),
        AdapterType.Carrier => new CarrierAdapter(provider, settings, http),
        AdapterType.BusinessRegistry => new BusinessRegistryAdapter(provider, settings, http),
        _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Adapter, "Unknown adapter type."),
    };
}
