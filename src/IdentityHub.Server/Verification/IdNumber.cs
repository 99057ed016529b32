using System.Globalization;

namespace IdentityHub.Server.Verification;

public enum IdNumberProblem
{
    None,
    Empty,
    Length,
    Characters,
    Province,
    BirthDate,
    FutureBirthDate,
    CheckCharacter,
}

public enum Gender
{
    Female,
    Male,
}

/// <summary>The outcome of checking a resident identity card number locally; <see cref="Normalized"/> is the 18-character form.</summary>
public sealed record IdNumberCheck(IdNumberProblem Problem, string Normalized, DateOnly? BirthDate, Gender? Gender, char? ExpectedCheck)
{
    public bool IsValid => Problem == IdNumberProblem.None;
}

/// <summary>
/// Resident Identity Card numbers, GB 11643-1999: 6-digit division code (province prefix checked strictly,
/// the county part not: counties are abolished and renamed while the numbers stay), birth date YYYYMMDD,
/// 3-digit sequence (odd = male), ISO 7064 MOD 11-2 check character. Old 15-digit numbers (YYMMDD, no
/// check) are converted by inserting "19" and computing the check. Local validation comes before any
/// paid authority call: an invalid number is never sent.
/// </summary>
public static class IdNumber
{
    // Wi = 2^(18-i) mod 11 for i = 1..17.
    private static readonly int[] Weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    private const string CheckCharacters = "10X98765432";
    private static readonly System.Buffers.SearchValues<char> AsciiDigits = System.Buffers.SearchValues.Create("0123456789");

    // GB/T 2260 provinces; 81/82/83: residence permits of Hong Kong, Macao and Taiwan residents.
    private static readonly HashSet<int> Provinces =
    [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
        50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 81, 82, 83,
    ];

    /// <summary>Today in China Standard Time (UTC+8), which decides whether a birth date is in the future.</summary>
    public static DateOnly TodayInChina(TimeProvider clock) => DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime.AddHours(8));

    public static IdNumberCheck Validate(string? input, DateOnly today)
    {
        var value = (input ?? "").Trim();
        if (value.Length == 0)
        {
            return Fail(IdNumberProblem.Empty, value);
        }

        // Normalise: a trailing lower-case x is the check character X.
        if (value[^1] == 'x')
        {
            value = value[..^1] + "X";
        }

        if (value.Length == 15)
        {
            if (!value.All(char.IsAsciiDigit))
            {
                return Fail(IdNumberProblem.Characters, value);
            }

            value = Convert15(value);
        }

        if (value.Length != 18)
        {
            return Fail(IdNumberProblem.Length, value);
        }

        if (value.AsSpan(0, 17).ContainsAnyExcept(AsciiDigits) || !(char.IsAsciiDigit(value[17]) || value[17] == 'X'))
        {
            return Fail(IdNumberProblem.Characters, value);
        }

        if (!Provinces.Contains(int.Parse(value.AsSpan(0, 2), CultureInfo.InvariantCulture)))
        {
            return Fail(IdNumberProblem.Province, value);
        }

        if (!DateOnly.TryParseExact(value.AsSpan(6, 8), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var birth)
            || birth.Year < 1800)
        {
            return Fail(IdNumberProblem.BirthDate, value);
        }

        if (birth > today)
        {
            return Fail(IdNumberProblem.FutureBirthDate, value);
        }

        var expected = CheckCharacter(value.AsSpan(0, 17));
        if (value[17] != expected)
        {
            return new IdNumberCheck(IdNumberProblem.CheckCharacter, value, null, null, expected);
        }

        var gender = (value[16] - '0') % 2 == 1 ? Gender.Male : Gender.Female;
        return new IdNumberCheck(IdNumberProblem.None, value, birth, gender, expected);
    }

    /// <summary>15 -> 18: insert "19" before YYMMDD and append the check character.</summary>
    public static string Convert15(string fifteen)
    {
        if (fifteen.Length != 15 || !fifteen.All(char.IsAsciiDigit))
        {
            throw new ArgumentException("A 15-digit number is expected.", nameof(fifteen));
        }

        var seventeen = fifteen[..6] + "19" + fifteen[6..];
        return seventeen + CheckCharacter(seventeen);
    }

    /// <summary>ISO 7064 MOD 11-2 over the first 17 digits.</summary>
    public static char CheckCharacter(ReadOnlySpan<char> first17)
    {
        var sum = 0;
        for (var i = 0; i < 17; i++)
        {
            sum += (first17[i] - '0') * Weights[i];
        }

        return CheckCharacters[sum % 11];
    }

    private static IdNumberCheck Fail(IdNumberProblem problem, string value) => new(problem, value, null, null, null);
}
