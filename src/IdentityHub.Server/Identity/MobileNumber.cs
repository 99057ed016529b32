using System.Text.RegularExpressions;

namespace IdentityHub.Server.Identity;

/// <summary>Mainland China mobile numbers: strip +86 / 0086 / spaces / dashes, then 1[3-9] and nine digits.</summary>
public static partial class MobileNumber
{
    public static bool TryNormalize(string? input, out string normalized)
    {
        normalized = "";
        if (string.IsNullOrWhiteSpace(input))
        {
            return false;
        }

        var digits = input.Trim().Replace(" ", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        if (digits.StartsWith("+86", StringComparison.Ordinal))
        {
            digits = digits[3..];
        }
        else if (digits.StartsWith("0086", StringComparison.Ordinal))
        {
            digits = digits[4..];
        }

        if (!Pattern().IsMatch(digits))
        {
            return false;
        }

        normalized = digits;
        return true;
    }

    [GeneratedRegex(@"^1[3-9][0-9]{9}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
