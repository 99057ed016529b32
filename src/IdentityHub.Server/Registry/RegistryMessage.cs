using System.Globalization;
using System.Resources;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Registry;

/// <summary>
/// A message of a registry operation: a stable code, which is also the key of its text in
/// Resources/SharedResource.resx (zh-CN) and SharedResource.en.resx, and the arguments of that text.
/// The API renders it in English (<see cref="English"/>: RFC 9457 problem details stay English); the
/// console renders it in the person's language through IStringLocalizer (<see cref="Localize"/>).
/// An argument that is itself a <see cref="RegistryMessage"/> (a term such as a release mode) is rendered
/// in the same language.
/// </summary>
public sealed record RegistryMessage(string Code, params object?[] Args)
{
    private static readonly ResourceManager Resources = new("IdentityHub.Server.Resources.SharedResource", typeof(SharedResource).Assembly);

    private static readonly CultureInfo EnglishCulture = CultureInfo.GetCultureInfo("en");

    /// <summary>A text given by someone else (ASP.NET Core Identity, OpenIddict), shown as it is.</summary>
    public static RegistryMessage Verbatim(string text) => new(RegistryCodes.Verbatim, text);

    /// <summary>The English text, for the API.</summary>
    public string English() =>
        string.Format(CultureInfo.InvariantCulture, EnglishText(Code) ?? Code, Args.Select(a => a is RegistryMessage m ? m.English() : a).ToArray());

    /// <summary>The text in the current UI culture, for the console.</summary>
    public string Localize(IStringLocalizer localizer) =>
        localizer[Code, Args.Select(a => a is RegistryMessage m ? m.Localize(localizer) : a ?? "").ToArray()].Value;

    /// <summary>The English resource of a code; null if it has none (a test keeps every code covered).</summary>
    public static string? EnglishText(string code) => Resources.GetString(code, EnglishCulture);

    public override string ToString() => English();
}

/// <summary>
/// The codes of registry messages (resource keys). Each one has a zh-CN and an en text with the same
/// placeholders; RegistryMessageTests checks that for every constant here.
/// </summary>
public static class RegistryCodes
{
    public const string Verbatim = "Registry_Verbatim";

    /// <summary>An import entry's message, prefixed with the entry ("clients[2]: ...").</summary>
    public const string AtEntry = "Registry_AtEntry";

    // Fields (client registration, departments, policies, secrets, users).
    public const string Required = "Registry_Required";
    public const string RequiredMax = "Registry_RequiredMax";
    public const string MaxLength = "Registry_MaxLength";
    public const string ClientIdFormat = "Registry_ClientIdFormat";
    public const string DepartmentCodeFormat = "Registry_DepartmentCodeFormat";
    public const string DepartmentStatusValues = "Registry_DepartmentStatusValues";
    public const string GrantTypesRequired = "Registry_GrantTypesRequired";
    public const string RedirectUrisRequired = "Registry_RedirectUrisRequired";
    public const string RedirectUrisOnlyForCode = "Registry_RedirectUrisOnlyForCode";
    public const string BackChannelOnlyForSignIn = "Registry_BackChannelOnlyForSignIn";
    public const string ConsentModeValues = "Registry_ConsentModeValues";
    public const string SubjectTypeValues = "Registry_SubjectTypeValues";
    public const string SigningAlgorithmValues = "Registry_SigningAlgorithmValues";
    public const string IdTokenAlgorithmOnlyForSignIn = "Registry_IdTokenAlgorithmOnlyForSignIn";
    public const string IdTokenOnRefreshOnlyForSignIn = "Registry_IdTokenOnRefreshOnlyForSignIn";
    public const string SigningAlgorithmUnavailable = "Registry_SigningAlgorithmUnavailable";
    public const string AssuranceLevelRange = "Registry_AssuranceLevelRange";
    public const string KindValues = "Registry_KindValues";
    public const string KindClientType = "Registry_KindClientType";
    public const string ClientTypeValues = "Registry_ClientTypeValues";
    public const string UnsupportedGrant = "Registry_UnsupportedGrant";
    public const string RefreshNeedsCode = "Registry_RefreshNeedsCode";
    public const string PublicNoClientCredentials = "Registry_PublicNoClientCredentials";
    public const string MachineClientCredentialsOnly = "Registry_MachineClientCredentialsOnly";
    public const string ReservedScope = "Registry_ReservedScope";
    public const string UnknownScope = "Registry_UnknownScope";
    public const string LifetimeRange = "Registry_LifetimeRange";
    public const string UriAbsolute = "Registry_UriAbsolute";
    public const string UriFragment = "Registry_UriFragment";
    public const string UriWildcard = "Registry_UriWildcard";
    public const string UriScheme = "Registry_UriScheme";
    public const string JwksPublicClient = "Registry_JwksPublicClient";
    public const string JwksShape = "Registry_JwksShape";
    public const string JwksPrivateKey = "Registry_JwksPrivateKey";
    public const string JwksSigningKey = "Registry_JwksSigningKey";
    public const string JwksInvalid = "Registry_JwksInvalid";
    public const string PolicyRequired = "Registry_PolicyRequired";
    public const string UnknownClaim = "Registry_UnknownClaim";
    public const string ModeValues = "Registry_ModeValues";
    public const string NotMaskable = "Registry_NotMaskable";
    public const string ExceedsCeiling = "Registry_ExceedsCeiling";
    public const string ClientStaysInDepartment = "Registry_ClientStaysInDepartment";
    public const string ClientKeepsKind = "Registry_ClientKeepsKind";
    public const string PublicSubjectNotAllowed = "Registry_PublicSubjectNotAllowed";
    public const string ApplicationInvalid = "Registry_ApplicationInvalid";
    public const string SecretExpiryRange = "Registry_SecretExpiryRange";
    public const string PublicClientNoSecret = "Registry_PublicClientNoSecret";
    public const string UnknownRole = "Registry_UnknownRole";
    public const string DepartmentAdminNeedsDepartment = "Registry_DepartmentAdminNeedsDepartment";
    public const string UserNameMobile = "Registry_UserNameMobile";
    public const string MobileFormat = "Registry_MobileFormat";

    // Not found, conflicts.
    public const string ClientNotFound = "Registry_ClientNotFound";
    public const string DepartmentNotFound = "Registry_DepartmentNotFound";
    public const string SecretNotFound = "Registry_SecretNotFound";
    public const string UserNotFound = "Registry_UserNotFound";
    public const string ClientExists = "Registry_ClientExists";
    public const string DepartmentExists = "Registry_DepartmentExists";
    public const string DepartmentHasClients = "Registry_DepartmentHasClients";

    // Role boundaries.
    public const string ForbidRegisterOtherDepartment = "Registry_ForbidRegisterOtherDepartment";
    public const string ForbidAuditorWrite = "Registry_ForbidAuditorWrite";
    public const string ForbidChangeOtherDepartment = "Registry_ForbidChangeOtherDepartment";
    public const string ForbidReadOtherDepartmentClients = "Registry_ForbidReadOtherDepartmentClients";
    public const string ForbidWidenCeiling = "Registry_ForbidWidenCeiling";
    public const string ForbidCreateDepartment = "Registry_ForbidCreateDepartment";
    public const string ForbidChangeDepartment = "Registry_ForbidChangeDepartment";
    public const string ForbidReadOtherDepartment = "Registry_ForbidReadOtherDepartment";
    public const string ForbidExport = "Registry_ForbidExport";
    public const string ForbidImport = "Registry_ForbidImport";
    public const string ForbidGrantRoles = "Registry_ForbidGrantRoles";

    /// <summary>Terms used as arguments: the release modes (English: the API value; Chinese: the console's word).</summary>
    public static readonly IReadOnlyList<string> ModeTerms = ["Registry_Mode_full", "Registry_Mode_masked", "Registry_Mode_none"];

    public static RegistryMessage Mode(ReleaseMode mode) => new("Registry_Mode_" + mode.ToString().ToLowerInvariant());
}
