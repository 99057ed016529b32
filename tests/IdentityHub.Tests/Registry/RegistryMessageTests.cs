using System.Globalization;
using System.Reflection;
using System.Resources;
using System.Text.RegularExpressions;
using IdentityHub.Server;
using IdentityHub.Server.Pages.Admin;
using IdentityHub.Server.Registry;

namespace IdentityHub.Tests.Registry;

/// <summary>Every registry message code and console field label has a Chinese and an English text, with the same placeholders.</summary>
public sealed partial class RegistryMessageTests
{
    private static readonly ResourceManager Resources = new("IdentityHub.Server.Resources.SharedResource", typeof(SharedResource).Assembly);

    public static IEnumerable<object[]> Keys() =>
        typeof(RegistryCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!)
            .Concat(RegistryCodes.ModeTerms)
            .Concat(ConsoleMessages.Fields.Select(f => "Field_" + f))
            .Concat(["Console_FieldError", "Console_FieldLine", "Console_FieldClaim"])
            .Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(Keys))]
    public void MessageCode_ChineseAndEnglish_BothPresentSamePlaceholders(string key)
    {
        // The neutral resources are zh-CN; English must be in the en resources themselves, not a fallback.
        var chinese = Resources.GetResourceSet(CultureInfo.InvariantCulture, createIfNotExists: true, tryParents: false)!.GetString(key);
        var english = Resources.GetResourceSet(CultureInfo.GetCultureInfo("en"), createIfNotExists: true, tryParents: false)!.GetString(key);

        Assert.False(string.IsNullOrWhiteSpace(chinese), $"{key} has no zh-CN text");
        Assert.False(string.IsNullOrWhiteSpace(english), $"{key} has no en text");
        Assert.Equal(Placeholders(english!), Placeholders(chinese!));
        var arguments = Enumerable.Range(0, 4).Select(i => (object)("a" + i)).ToArray();
        _ = string.Format(CultureInfo.InvariantCulture, chinese!, arguments);
        _ = string.Format(CultureInfo.InvariantCulture, english!, arguments);
    }

    [Fact]
    public void RegistryMessage_EnglishForApi_SameTextWhateverTheCurrentCulture()
    {
        var previous = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo("zh-CN");
            var message = new RegistryMessage(RegistryCodes.ExceedsCeiling, RegistryCodes.Mode(ReleaseMode.Masked));
            Assert.Equal("Exceeds the department's ceiling (\"masked\"): a platform administrator must raise it first.", message.English());
        }
        finally
        {
            CultureInfo.CurrentUICulture = previous;
        }
    }

    private static string[] Placeholders(string text) =>
        PlaceholderPattern().Matches(text.Replace("{{", "", StringComparison.Ordinal).Replace("}}", "", StringComparison.Ordinal))
            .Select(m => m.Value).Distinct().Order(StringComparer.Ordinal).ToArray();

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex PlaceholderPattern();
}
