namespace IdentityHub.Server.Verification;

public enum CreditCodeStatus
{
    Valid,

    /// <summary>Well formed, but the check character does not match: some early pilot codes fail it. Not a rejection.</summary>
    NeedsReview,

    Invalid,
}

public sealed record CreditCodeCheck(CreditCodeStatus Status, string Normalized, string? Problem, char? ExpectedCheck);

/// <summary>
/// Unified Social Credit Codes, GB 32100-2015: 18 characters of the 31-character alphabet without I, O, S,
/// V and Z; position 18 is the check character, 31 - (sum(Ci * 3^(i-1) mod 31) mod 31), 31 read as 0.
/// A checksum failure is reported as <see cref="CreditCodeStatus.NeedsReview"/>: some early pilot codes
/// (for example 91350100M0001TGQXM) fail it, so they go to a registry lookup or manual review rather
/// than being silently refused.
/// </summary>
public static class CreditCode
{
    public const string Alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";

    private static readonly int[] Weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

    public static CreditCodeCheck Validate(string? input)
    {
        var value = (input ?? "").Trim();
        if (value.Length != 18)
        {
            return new(CreditCodeStatus.Invalid, value, "A unified social credit code has 18 characters.", null);
        }

        // Strict: lower case is not part of the alphabet (callers that accept typed input upper-case it first).
        if (value.Any(c => Alphabet.IndexOf(c, StringComparison.Ordinal) < 0))
        {
            return new(CreditCodeStatus.Invalid, value, "Only digits and the capital letters A-Y without I, O, S, V, Z are allowed.", null);
        }

        var expected = CheckCharacter(value.AsSpan(0, 17));
        return value[17] == expected
            ? new(CreditCodeStatus.Valid, value, null, expected)
            : new(CreditCodeStatus.NeedsReview, value,
                $"The check character should be {expected}: the code needs a registry lookup or manual review (some early pilot codes fail the check).",
                expected);
    }

    public static char CheckCharacter(ReadOnlySpan<char> first17)
    {
        var sum = 0;
        for (var i = 0; i < 17; i++)
        {
            sum += Alphabet.IndexOf(first17[i], StringComparison.Ordinal) * Weights[i];
        }

        var check = 31 - (sum % 31);
        return Alphabet[check == 31 ? 0 : check];
    }
}
