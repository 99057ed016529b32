using System.Globalization;
using System.Text.RegularExpressions;
using IdentityHub.Server.Registry;
using Microsoft.Extensions.Localization;

namespace IdentityHub.Server.Pages.Admin;

/// <summary>
/// A registry message as the console shows it: the field's label as on the form (not the API's JSON name)
/// and the message, both in the person's language.
/// </summary>
public static partial class ConsoleMessages
{
    /// <summary>The API field name (without index or claim) and the resource key of its label on the console's forms.</summary>
    private static readonly Dictionary<string, string> Labels = new(StringComparer.Ordinal)
    {
        ["clientId"] = "Client_Id",
        ["departmentCode"] = "Client_Department",
        ["displayName"] = "Client_DisplayName",
        ["displayNameEn"] = "Client_DisplayNameEn",
        ["kind"] = "Client_Kind",
        ["clientType"] = "Client_Kind",
        ["grantTypes"] = "Field_grantTypes",
        ["redirectUris"] = "Client_RedirectUris",
        ["postLogoutRedirectUris"] = "Client_PostLogoutUris",
        ["backChannelLogoutUri"] = "Client_BackChannelUri",
        ["scopes"] = "Client_Scopes",
        ["consentMode"] = "Client_Consent",
        ["subjectType"] = "Client_Subject",
        ["lifetimes.accessTokenSeconds"] = "Client_AccessLifetime",
        ["lifetimes.identityTokenSeconds"] = "Field_identityTokenSeconds",
        ["lifetimes.refreshTokenSeconds"] = "Client_RefreshLifetime",
        ["jwks"] = "Field_jwks",
        ["claimPolicy"] = "Policy_Title",
        ["claims"] = "Field_claims",
        ["minimumAssuranceLevel"] = "Policy_MinimumLevel",
        ["code"] = "Department_Code",
        ["name"] = "Department_Name",
        ["nameEn"] = "Department_NameEn",
        ["contact"] = "Department_Contact",
        ["status"] = "Console_Status",
        ["expiresInDays"] = "Secret_ExpiresInDays",
        ["roles"] = "Field_roles",
        ["body"] = "Field_body",
    };

    /// <summary>Every label resource key the console may use (a test checks each has both languages).</summary>
    public static IEnumerable<string> LabelKeys => Labels.Values.Distinct();

    public static string Render(IStringLocalizer localizer, string? field, RegistryMessage message)
    {
        var text = message.Localize(localizer);
        return field is null ? text : localizer["Console_FieldError", Label(localizer, field), text].Value;
    }

    /// <summary>"redirectUris[1]" -> "重定向 URI，第 2 行"; "claims.id_number" -> "数据项（身份证号）"; unknown fields as they are.</summary>
    public static string Label(IStringLocalizer localizer, string field)
    {
        var match = FieldPattern().Match(field);
        if (!match.Success)
        {
            return field;
        }

        var name = match.Groups["name"].Value;
        var claim = match.Groups["claim"].Success ? match.Groups["claim"].Value : null;
        if (claim is not null && !ClaimCatalog.ByKey.ContainsKey(claim))
        {
            // lifetimes.accessTokenSeconds and the like are one field; a dotted name that is no claim may have a label of its own.
            name = name + "." + claim;
            claim = null;
        }

        if (!Labels.TryGetValue(name, out var key))
        {
            return field;
        }

        var label = localizer[key].Value;
        if (claim is not null)
        {
            label = localizer["Console_FieldClaim", label, localizer["Claim_" + claim].Value].Value;
        }

        if (match.Groups["index"].Success)
        {
            var line = int.Parse(match.Groups["index"].Value, CultureInfo.InvariantCulture) + 1;
            label = localizer["Console_FieldLine", label, line].Value;
        }

        return label;
    }

    [GeneratedRegex(@"^(?<name>[A-Za-z]+)(\[(?<index>\d+)\])?(\.(?<claim>[A-Za-z_]+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPattern();
}
