using IdentityHub.Server.Identity.PersonalData;
using IdentityHub.Server.Verification;

namespace IdentityHub.Server.Identity.RealName;

public static class RealNameExtensions
{
    /// <summary>Real-name verification: protected personal data, authority adapters, identities, evidence and levels.</summary>
    public static WebApplicationBuilder AddIdentityHubRealName(this WebApplicationBuilder builder)
    {
        builder.AddIdentityHubPersonalData();
        builder.Services.AddIdentityHubVerification();
        builder.Services.AddScoped<RealNameService>();
        return builder;
    }
}
