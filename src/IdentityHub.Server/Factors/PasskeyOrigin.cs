using IdentityHub.Server.Oidc;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Factors;

/// <summary>
/// The origin a passkey ceremony must come from (WebAuthn section 7.1 step 9, 7.2 step 13): the
/// configured issuer's origin, or in Development the origin the request arrived at. Identity's default
/// compares with the request's Origin header, which browsers send as "null" on form posts from pages
/// with Referrer-Policy: no-referrer, as ours are.
/// </summary>
public static class PasskeyOrigin
{
    public static void Configure(IdentityPasskeyOptions options) =>
        options.ValidateOrigin = context => ValueTask.FromResult(IsExpected(context));

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
