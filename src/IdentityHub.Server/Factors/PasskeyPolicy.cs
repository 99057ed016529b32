using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Factors;

/// <summary>
/// How passkeys are used here. User verification is required (WebAuthn section 5.4.6): every passkey
/// proves possession and the person's PIN or biometrics on the device, so a passkey sign-in is
/// multi-factor by itself. The origin a ceremony must come from (WebAuthn section 7.1 step 9, 7.2
/// step 13) is the configured issuer's, or in Development the one the request arrived at; Identity's
/// default compares with the request's Origin header, which browsers send as "null" on form posts from
/// pages with Referrer-Policy: no-referrer, as ours are.
/// </summary>
public static class PasskeyPolicy
{
    public static void Configure(IdentityPasskeyOptions options)
    {
        options.UserVerificationRequirement = "required";
        options.ValidateOrigin = context => ValueTask.FromResult(IsExpected(context));
    }

    private static bool IsExpected(PasskeyOriginValidationContext context)
    {
        if (context.CrossOrigin || !Uri.TryCreate(context.Origin, UriKind.Absolute, out var origin))
        {
            return false;
        }

        var request = context.HttpContext.Request;
        var issuer = context.HttpContext.RequestServices.GetRequiredService<IOptions<OidcOptions>>().Value.Issuer;
        var expected = issuer is not null
            ? issuer.GetLeftPart(UriPartial.Authority)
            : request.Scheme + "://" + request.Host.Value;
        return string.Equals(origin.GetLeftPart(UriPartial.Authority), expected, StringComparison.OrdinalIgnoreCase);
    }
}
