using IdentityHub.Server.Oidc;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Registry;

/// <summary>How much of a claim a client may receive. Ordered: a ceiling caps a policy by taking the smaller.</summary>
public enum ReleaseMode
{
    None = 0,
    Masked = 1,
    Full = 2,
}

/// <summary>
/// One entry of the claim policy vocabulary: the key administrators see, the scope that asks for it
/// (OIDC Core section 5.4 where one exists), the claim types it releases and whether a masked form exists.
/// </summary>
public sealed record ReleasableClaim(string Key, string Scope, IReadOnlyList<string> ClaimTypes, bool Maskable);

/// <summary>
/// The vocabulary of claim release policies. Claims not yet backed by data (ID number, birth date, gender,
/// enterprise) are part of it already, so that policies can be written before the data arrives.
/// </summary>
public static class ClaimCatalog
{
    public const string Name = "name";
    public const string PreferredUsername = "preferred_username";
    public const string PhoneNumber = "phone_number";
    public const string Email = "email";
    public const string IdNumber = "id_number";
    public const string Birthdate = "birthdate";
    public const string Gender = "gender";
    public const string Enterprise = "enterprise";
    public const string VerificationLevel = "verification_level";

    public static readonly IReadOnlyList<ReleasableClaim> All =
    [
        new(Name, Scopes.Profile, [Claims.Name], Maskable: true),
        new(PreferredUsername, Scopes.Profile, [Claims.PreferredUsername], Maskable: true),
        new(Birthdate, Scopes.Profile, [Claims.Birthdate], Maskable: true),
        new(Gender, Scopes.Profile, [Claims.Gender], Maskable: false),
        new(PhoneNumber, Scopes.Phone, [Claims.PhoneNumber, Claims.PhoneNumberVerified], Maskable: true),
        new(Email, Scopes.Email, [Claims.Email, Claims.EmailVerified], Maskable: true),
        new(IdNumber, HubScopes.Identity, [HubClaims.IdNumber], Maskable: true),
        new(VerificationLevel, HubScopes.Identity, [HubClaims.VerificationLevel], Maskable: false),
        new(Enterprise, HubScopes.Enterprise, [HubClaims.Enterprise], Maskable: true),
    ];

    public static readonly IReadOnlyDictionary<string, ReleasableClaim> ByKey = All.ToDictionary(c => c.Key, StringComparer.Ordinal);

    /// <summary>Every claim type a policy can release: OpenIddict must know them, and ClaimsFactory gives them destinations.</summary>
    public static readonly IReadOnlySet<string> ClaimTypes = All.SelectMany(c => c.ClaimTypes).ToHashSet(StringComparer.Ordinal);
}
