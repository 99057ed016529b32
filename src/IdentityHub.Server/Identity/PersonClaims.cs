using System.Security.Claims;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Identity;

/// <summary>
/// The values behind each entry of the claim policy vocabulary, in full and masked. ID number, birth date,
/// gender and enterprise have no data yet (the verification issue brings it): they yield nothing.
/// </summary>
public static class PersonClaims
{
    public static IEnumerable<(string Type, string Value, string ValueType)> Values(ApplicationUser user, string key, ReleaseMode mode)
    {
        var masked = mode == ReleaseMode.Masked;
        switch (key)
        {
            case ClaimCatalog.Name:
                var name = user.DisplayName ?? user.UserName ?? user.Id;
                yield return (Claims.Name, masked ? Masking.Name(name) : name, ClaimValueTypes.String);
                break;
            case ClaimCatalog.PreferredUsername when user.UserName is not null:
                yield return (Claims.PreferredUsername, masked ? Masking.Name(user.UserName) : user.UserName, ClaimValueTypes.String);
                break;
            case ClaimCatalog.PhoneNumber when user.PhoneNumber is not null:
                yield return (Claims.PhoneNumber, masked ? Masking.Phone(user.PhoneNumber) : user.PhoneNumber, ClaimValueTypes.String);
                yield return (Claims.PhoneNumberVerified, user.PhoneNumberConfirmed ? "true" : "false", ClaimValueTypes.Boolean);
                break;
            case ClaimCatalog.Email when user.Email is not null:
                yield return (Claims.Email, masked ? Masking.Email(user.Email) : user.Email, ClaimValueTypes.String);
                yield return (Claims.EmailVerified, user.EmailConfirmed ? "true" : "false", ClaimValueTypes.Boolean);
                break;
            case ClaimCatalog.VerificationLevel:
                yield return (HubClaims.VerificationLevel, AssuranceLevels.Name(AssuranceLevels.Of(user)), ClaimValueTypes.String);
                break;
        }
    }
}
