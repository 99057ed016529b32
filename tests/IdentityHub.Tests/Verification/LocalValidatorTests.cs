using IdentityHub.Server.Identity;
using IdentityHub.Server.Verification;

namespace IdentityHub.Tests.Verification;

/// <summary>Every vector of the domain reference (GB 11643-1999, GB 32100-2015, mainland mobile numbers).</summary>
public sealed class LocalValidatorTests
{
    private static readonly DateOnly Today = new(2026, 11, 29);

    [Theory]
    [InlineData("11010519491231002X", "1949-12-31", Gender.Female)] // the standard's own example
    [InlineData("440524188001010014", "1880-01-01", Gender.Male)]
    [InlineData("360426199101010071", "1991-01-01", Gender.Male)]
    [InlineData("350303199002033073", "1990-02-03", Gender.Male)]
    [InlineData("370212200002294564", "2000-02-29", Gender.Female)] // leap day 2000
    public void IdNumber_ValidVector_AcceptedWithBirthDateAndGender(string number, string birth, Gender gender)
    {
        var check = IdNumber.Validate(number, Today);
        Assert.True(check.IsValid, check.Problem.ToString());
        Assert.Equal(number, check.Normalized);
        Assert.Equal(DateOnly.Parse(birth, System.Globalization.CultureInfo.InvariantCulture), check.BirthDate);
        Assert.Equal(gender, check.Gender);
    }

    [Fact]
    public void IdNumber_LowerCaseX_ValidOnceUpperCased()
    {
        var check = IdNumber.Validate(" 44011320141005001x ", Today);
        Assert.True(check.IsValid, check.Problem.ToString());
        Assert.Equal("44011320141005001X", check.Normalized);
    }

    [Theory]
    [InlineData("110105194912310029", IdNumberProblem.CheckCharacter, 'X')]
    [InlineData("36042619910102009X", IdNumberProblem.CheckCharacter, '3')]
    public void IdNumber_BadCheckCharacter_RejectedNamingTheExpectedOne(string number, IdNumberProblem problem, char expected)
    {
        var check = IdNumber.Validate(number, Today);
        Assert.Equal(problem, check.Problem);
        Assert.Equal(expected, check.ExpectedCheck);
    }

    [Theory]
    [InlineData("370202199002301231", IdNumberProblem.BirthDate)] // 30 February
    [InlineData("360426199113010079", IdNumberProblem.BirthDate)] // month 13
    [InlineData("370212190002294568", IdNumberProblem.BirthDate)] // 1900 was not a leap year
    [InlineData("37020219900307123", IdNumberProblem.Length)] // 17 characters
    [InlineData("3702021990030712300", IdNumberProblem.Length)] // 19 characters
    [InlineData("110105209912310029", IdNumberProblem.FutureBirthDate)] // valid check, born 2099
    [InlineData("100105194912310028", IdNumberProblem.Province)] // valid check, no province 10
    [InlineData("990105194912310023", IdNumberProblem.Province)]
    [InlineData("710105194912310021", IdNumberProblem.Province)] // Taiwan residents hold 83 permits, not 71
    [InlineData("11010519491231002Y", IdNumberProblem.Characters)]
    [InlineData("", IdNumberProblem.Empty)]
    public void IdNumber_InvalidVector_RejectedWithItsProblem(string number, IdNumberProblem problem)
    {
        Assert.Equal(problem, IdNumber.Validate(number, Today).Problem);
    }

    [Theory]
    [InlineData("110105491231002", "11010519491231002X")]
    [InlineData("350303900203307", "350303199002033073")]
    [InlineData("330502880702447", "33050219880702447X")]
    public void IdNumber_FifteenDigits_ConvertedToEighteen(string fifteen, string eighteen)
    {
        Assert.Equal(eighteen, IdNumber.Convert15(fifteen));
        var check = IdNumber.Validate(fifteen, Today);
        Assert.True(check.IsValid, check.Problem.ToString());
        Assert.Equal(eighteen, check.Normalized);
    }

    [Theory]
    [InlineData("91110000600037341L")]
    [InlineData("121200004013590816")]
    [InlineData("91371082775260043P")]
    [InlineData("92340602MA2PBMEM24")]
    [InlineData("91620105L015101280")]
    [InlineData("911101085636549482")]
    public void CreditCode_ValidVector_Valid(string code)
    {
        Assert.Equal(CreditCodeStatus.Valid, CreditCode.Validate(code).Status);
    }

    [Theory]
    [InlineData("91110000600037341N", 'L')]
    [InlineData("91350100M0001TGQXM", '1')] // an early pilot code: real, yet it fails the checksum
    public void CreditCode_ChecksumFailure_NeedsReviewNotRejected(string code, char expected)
    {
        var check = CreditCode.Validate(code);
        Assert.Equal(CreditCodeStatus.NeedsReview, check.Status);
        Assert.Equal(expected, check.ExpectedCheck);
        Assert.Contains("review", check.Problem, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("91110000600037341l")] // lower case is not in the alphabet
    [InlineData("9111000060003IOZSV")] // I O Z S V are not in the alphabet
    [InlineData("91110000600037341")] // 17 characters
    [InlineData("")]
    public void CreditCode_InvalidVector_Invalid(string code)
    {
        Assert.Equal(CreditCodeStatus.Invalid, CreditCode.Validate(code).Status);
    }

    [Theory]
    [InlineData("13800138000", "13800138000")]
    [InlineData("+86 138 0013 8000", "13800138000")]
    [InlineData("0086-19912345678", "19912345678")]
    [InlineData(" 15912345678 ", "15912345678")]
    public void MobileNumber_NormalisableInput_ElevenDigits(string input, string expected)
    {
        Assert.True(MobileNumber.TryNormalize(input, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("12800138000")] // 1[3-9] only
    [InlineData("1380013800")] // 10 digits
    [InlineData("138001380001")] // 12 digits
    [InlineData("+85 13800138000")]
    [InlineData("abc")]
    [InlineData("")]
    public void MobileNumber_NotAMainlandMobile_Refused(string input)
    {
        Assert.False(MobileNumber.TryNormalize(input, out _));
    }
}
