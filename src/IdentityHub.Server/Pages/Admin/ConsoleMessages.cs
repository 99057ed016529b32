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
    /// <summary>The API field names (without index or claim) that have a label, resource key <c>Field_{name}</c>.</summary>
    public static readonly IReadOnlySet<string> Fields = new HashSet<string>(StringComparer.Ordinal)
    {
        "clientId", "departmentCode", "displayName", "displayNameEn", "kind", "clientType", "grantTypes", "redirectUris",
        "postLogoutRedirectUris", "backChannelLogoutUri", "scopes", "consentMode", "subjectType", "idTokenSignedResponseAlg",
        "accessTokenSignedResponseAlg", "idTokenOnRefresh", "lifetimes.accessTokenSeconds",
        "lifetimes.identityTokenSeconds", "lifetimes.refreshTokenSeconds", "jwks", "claimPolicy", "claims", "minimumAssuranceLevel",
        "code", "name", "nameEn", "contact", "status", "expiresInDays", "roles", "body",
    };

    public static string Render(IStringLocalizer localizer, string? field, RegistryMessage message)
    {
        var text = message.Localize(localizer);
        return field is null ? text : localizer["Console_FieldError", Label(localizer, field), text].Value;
    }

    /// <summary>"redirectUris[1]" -> "回调地址（第 2 行）"; "claims.id_number" -> "数据项（身份证号）"; unknown fields as they are.</summary>
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

        if (!Fields.Contains(name))
        {
            return field;
        }

        var label = localizer["Field_" + name].Value;
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
