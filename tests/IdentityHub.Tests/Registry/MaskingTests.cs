using IdentityHub.Server.Identity;
using IdentityHub.Server.Registry;

namespace IdentityHub.Tests.Registry;

/// <summary>Masked forms and policy arithmetic: plain functions, no server.</summary>
public sealed class MaskingTests
{
    [Theory]
    [InlineData("11010119900307002X", "1101**********002X")]
    [InlineData("110101199003070021", "1101**********0021")]
    public void IdNumber_Masked_KeepsFourAtEachEnd(string value, string masked) => Assert.Equal(masked, Masking.IdNumber(value));

    [Fact]
    public void Phone_Masked_KeepsPrefixAndLastFour() => Assert.Equal("138****8000", Masking.Phone("13800138000"));

    [Theory]
    [InlineData("张三", "张*")]
    [InlineData("欧阳娜娜", "欧***")]
    [InlineData("王", "*")]
    public void Name_Masked_KeepsFamilyName(string value, string masked) => Assert.Equal(masked, Masking.Name(value));

    [Fact]
    public void EmailAndBirthdate_Masked() =>
        Assert.Equal(("z***@example.gov.cn", "1990-**-**"), (Masking.Email("zhangsan@example.gov.cn"), Masking.Birthdate("1990-03-07")));

    [Fact]
    public void Policy_CappedByCeiling_TakesTheSmallerMode()
    {
        var errors = new IdentityHub.Server.Api.FieldErrors();
        var policy = ClaimReleasePolicy.Parse(new Dictionary<string, string> { ["name"] = "full", ["id_number"] = "full", ["email"] = "masked" }, "p", errors)!;
        var ceiling = ClaimReleasePolicy.Parse(new Dictionary<string, string> { ["name"] = "full", ["id_number"] = "masked" }, "c", errors)!;
        Assert.False(errors.Any);
        var effective = policy.CappedBy(ceiling);
        Assert.Equal(ReleaseMode.Full, effective.ModeOf("name"));
        Assert.Equal(ReleaseMode.Masked, effective.ModeOf("id_number"));
        Assert.Equal(ReleaseMode.None, effective.ModeOf("email"));
        Assert.Equal(["email", "id_number"], policy.Exceeding(ceiling).Order());
    }
}
