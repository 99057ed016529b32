using System.Globalization;
using System.Security.Claims;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Identity;

/// <summary>
/// The values behind each entry of the claim policy vocabulary, in full and masked. Name, birth date, gender
/// and ID number come from the verified identity when there is one; the ID number is decrypted only here,
/// and only when the policy releases it in full. The enterprise claim is the acting context's (ClaimsFactory).
/// </summary>
public static class PersonClaims
{
    public static IEnumerable<(string Type, string Value, string ValueType)> Values(Person person, string key, ReleaseMode mode,
        Func<RealNameRecord, string> revealIdNumber)
    {
        var masked = mode == ReleaseMode.Masked;
        var user = person.User;
        var verified = person.RealName;
        switch (key)
        {
            case ClaimCatalog.Name:
                var name = verified?.Name ?? user.DisplayName ?? user.UserName ?? user.Id;
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
            case ClaimCatalog.Birthdate when verified is not null:
                var birth = verified.BirthDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture); // OIDC Core section 5.1: YYYY-MM-DD
                yield return (Claims.Birthdate, masked ? Masking.Birthdate(birth) : birth, ClaimValueTypes.String);
                break;
            case ClaimCatalog.Gender when verified is not null:
                yield return (Claims.Gender, verified.Gender == Verification.Gender.Male ? "male" : "female", ClaimValueTypes.String);
                break;
            case ClaimCatalog.IdNumber when verified is not null:
                yield return (HubClaims.IdNumber, masked ? verified.IdNumberMasked : revealIdNumber(verified), ClaimValueTypes.String);
                break;
            case ClaimCatalog.VerificationLevel:
                yield return (HubClaims.VerificationLevel, AssuranceLevels.Name(person.Level), ClaimValueTypes.String);
                break;
        }
    }
}
