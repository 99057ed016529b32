using System.Buffers.Binary;
using System.Net;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Tests.Admin;

public abstract partial class AdminApiTests
{
    [Fact]
    public async Task Users_ValidRequest_Returns201WithIdAndLocationAndCanSignIn()
    {
        var userName = UniqueNames.User();
        var password = UniqueNames.Password();
        var mobile = UniqueNames.Mobile();

        using var response = await PostJsonAsync(UsersPath, new { userName, password, phoneNumber = mobile, displayName = "王小明" });

        var body = await AssertCreatedAsync(response, created => $"{UsersPath}/{created.GetProperty("id").GetString()}");
        var id = body.GetProperty("id").GetString();
        var stored = await QueryDatabaseAsync(db => db.Users.AsNoTracking().SingleAsync(u => u.UserName == userName));
        Assert.Equal(stored.Id, id);
        Assert.Equal(mobile, stored.PhoneNumber);
        Assert.Equal("王小明", stored.DisplayName);
        await AssertSignsInAsync(userName, password);
    }

    [Fact]
    public async Task Users_FormattedMobileNumber_IsStoredNormalized()
    {
        var userName = UniqueNames.User();
        var mobile = UniqueNames.Mobile();
        var formatted = $"+86 {mobile[..3]} {mobile[3..7]} {mobile[7..]}";

        using var response = await PostJsonAsync(UsersPath, new { userName, password = UniqueNames.Password(), phoneNumber = formatted });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var stored = await QueryDatabaseAsync(db => db.Users.AsNoTracking().SingleAsync(u => u.UserName == userName));
        Assert.Equal(mobile, stored.PhoneNumber);
    }

    [Fact]
    public async Task Users_Created_StoresPbkdf2Sha512HashWith210000Iterations()
    {
        var userName = UniqueNames.User();
        var password = UniqueNames.Password();
        await Admin.CreateUserAsync(userName, password);

        var hash = await QueryDatabaseAsync(db => db.Users.AsNoTracking().Where(u => u.UserName == userName).Select(u => u.PasswordHash).SingleAsync());

        Assert.False(string.IsNullOrEmpty(hash));
        Assert.DoesNotContain(password, hash, StringComparison.Ordinal);
        var bytes = Convert.FromBase64String(hash!);
        // ASP.NET Core Identity V3: 0x01 | PRF (uint32 BE) | iterations (uint32 BE) | salt length (uint32 BE) | salt | subkey.
        Assert.Equal(0x01, bytes[0]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1, 4))); // KeyDerivationPrf.HMACSHA512
        Assert.Equal(210_000u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(5, 4)));
        var saltLength = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(9, 4));
        Assert.True(saltLength >= 16, "Salt of " + saltLength + " bytes.");
        Assert.True(bytes.Length - 13 - saltLength >= 32, "Subkey shorter than 256 bits.");
    }

    [Fact]
    public async Task Users_DuplicateUserName_Returns409AndOriginalStillSignsIn()
    {
        var userName = UniqueNames.User();
        var password = UniqueNames.Password();
        var mobile = UniqueNames.Mobile();
        await Admin.CreateUserAsync(userName, password, mobile, "原账户");
        var otherPassword = UniqueNames.Password();

        using var response = await PostJsonAsync(UsersPath, new { userName, password = otherPassword, phoneNumber = UniqueNames.Mobile(), displayName = "冒名" });

        await AssertConflictAsync(response, "userName");
        var stored = await QueryDatabaseAsync(db => db.Users.AsNoTracking().Where(u => u.UserName == userName).ToListAsync());
        Assert.Equal("原账户", Assert.Single(stored).DisplayName);
        Assert.Equal(mobile, stored[0].PhoneNumber);
        await AssertSignsInAsync(userName, password);
        var impostor = await new LoginForm(Server).SignInAsync(userName, otherPassword);
        Assert.False(impostor.SessionCookieIssued, "The rejected duplicate's password signs in to the original account.");
    }

    [Fact]
    public async Task Users_DuplicateUserNameInOtherCase_Returns409()
    {
        var userName = UniqueNames.User();
        await Admin.CreateUserAsync(userName, UniqueNames.Password());

        using var response = await PostJsonAsync(UsersPath, new { userName = userName.ToUpperInvariant(), password = UniqueNames.Password() });

        await AssertConflictAsync(response, "userName");
        Assert.Equal(1, await QueryDatabaseAsync(db => db.Users.CountAsync(u => u.NormalizedUserName == userName.ToUpperInvariant())));
    }

    [Fact]
    public async Task Users_DuplicatePhoneNumber_Returns409AndStoresNothing()
    {
        var mobile = UniqueNames.Mobile();
        var ownerName = UniqueNames.User();
        var ownerPassword = UniqueNames.Password();
        await Admin.CreateUserAsync(ownerName, ownerPassword, mobile);
        var userName = UniqueNames.User();

        // The same number, typed as people type it.
        using var response = await PostJsonAsync(UsersPath, new { userName, password = UniqueNames.Password(), phoneNumber = $"+86 {mobile[..3]}-{mobile[3..7]}-{mobile[7..]}" });

        await AssertConflictAsync(response, "phoneNumber");
        Assert.False(await QueryDatabaseAsync(db => db.Users.AnyAsync(u => u.UserName == userName)));
        Assert.Equal(1, await QueryDatabaseAsync(db => db.Users.CountAsync(u => u.PhoneNumber == mobile)));
        await AssertSignsInAsync(mobile, ownerPassword, expectedUserName: ownerName);
    }

    [Fact]
    public async Task Users_InvalidPhoneNumber_Returns400AndStoresNothing()
    {
        var userName = UniqueNames.User();

        using var response = await PostJsonAsync(UsersPath, new { userName, password = UniqueNames.Password(), phoneNumber = "12345678901" });

        await AssertValidationProblemAsync(response, "phoneNumber");
        await AssertUserNameStillFreeAsync(userName);
    }

    [Fact]
    public async Task Users_ShortPassword_Returns400NamingPasswordAndStoresNothing()
    {
        var userName = UniqueNames.User();

        using var response = await PostJsonAsync(UsersPath, new { userName, password = "Ab3$xyz" });

        await AssertValidationProblemAsync(response, "password");
        await AssertUserNameStillFreeAsync(userName);
    }

    [Fact]
    public async Task Users_WeakPassword_Returns400NamingPasswordAndStoresNothing()
    {
        var userName = UniqueNames.User();

        // Long enough, but only two distinct characters (Identity's RequiredUniqueChars is 4).
        using var response = await PostJsonAsync(UsersPath, new { userName, password = "abababababab" });

        await AssertValidationProblemAsync(response, "password");
        await AssertUserNameStillFreeAsync(userName);
    }

    [Fact]
    public async Task Users_InvalidUserName_Returns400NamingUserName()
    {
        var userName = "名字 有空格 " + UniqueNames.User();

        using var response = await PostJsonAsync(UsersPath, new { userName, password = UniqueNames.Password() });

        await AssertValidationProblemAsync(response, "userName");
        Assert.False(await QueryDatabaseAsync(db => db.Users.AnyAsync(u => u.UserName == userName)));
    }

    [Theory]
    [InlineData("{0}")]
    [InlineData("+86{0}")]
    public async Task Users_MobileNumberAsUserName_Returns400NamingUserName(string format)
    {
        // The sign-in page tries a typed mobile number as a phone number first: a user name that is a mobile
        // number would sign in to whichever account later gets that number, and lock that account out.
        var userName = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, UniqueNames.Mobile());

        using var response = await PostJsonAsync(UsersPath, new { userName, password = UniqueNames.Password() });

        await AssertValidationProblemAsync(response, "userName");
        Assert.False(await QueryDatabaseAsync(db => db.Users.AnyAsync(u => u.UserName == userName)));
    }

    [Fact]
    public async Task Users_WithoutPhoneNumber_SeveralAreCreated()
    {
        var first = await Admin.CreateUserAsync(UniqueNames.User(), UniqueNames.Password());
        var second = await Admin.CreateUserAsync(UniqueNames.User(), UniqueNames.Password());

        Assert.NotEqual(first, second);
        var phones = await QueryDatabaseAsync(db => db.Users.AsNoTracking().Where(u => u.Id == first || u.Id == second).Select(u => u.PhoneNumber).ToListAsync());
        Assert.Equal([null, null], phones);
    }

    [Fact]
    public async Task Users_MissingFields_Returns400NamingEachField()
    {
        var before = await QueryDatabaseAsync(db => db.Users.CountAsync());

        using var response = await PostJsonAsync(UsersPath, new { displayName = "无名氏" });

        await AssertValidationProblemAsync(response, "userName", "password");
        Assert.Equal(before, await QueryDatabaseAsync(db => db.Users.CountAsync()));
    }

    [Fact]
    public async Task Users_MalformedJson_Returns400ProblemNamingJsonPath()
    {
        var userName = UniqueNames.User();

        using var response = await PostRawAsync(UsersPath, $"{{\"userName\": \"{userName}\", \"password\": {UniqueNames.Password()}}}");

        // An unquoted string: the problem names the JSON path where the parser stopped.
        await AssertValidationProblemAsync(response, "password");
        await AssertUserNameStillFreeAsync(userName);
    }

    [Fact]
    public async Task Users_WrongJsonType_Returns400NamingField()
    {
        var userName = UniqueNames.User();

        using var response = await PostRawAsync(UsersPath, $"{{\"userName\": \"{userName}\", \"password\": \"{UniqueNames.Password()}\", \"phoneNumber\": 13800138000}}");

        await AssertValidationProblemAsync(response, "phoneNumber");
        await AssertUserNameStillFreeAsync(userName);
    }

    /// <summary>Nothing was stored under <paramref name="userName"/>: no such user, and a valid creation of it succeeds.</summary>
    private async Task AssertUserNameStillFreeAsync(string userName)
    {
        Assert.False(await QueryDatabaseAsync(db => db.Users.AnyAsync(u => u.UserName == userName)), $"A rejected request stored user {userName}.");
        await Admin.CreateUserAsync(userName, UniqueNames.Password());
    }

    /// <summary>Signs in on the real sign-in page and checks that the home page then shows the account.</summary>
    private async Task AssertSignsInAsync(string signInName, string password, string? expectedUserName = null)
    {
        var browser = new LoginForm(Server);
        var attempt = await browser.SignInAsync(signInName, password);
        Assert.True(attempt.Status == HttpStatusCode.Redirect && attempt.SessionCookieIssued,
            $"Sign-in as {signInName} failed: {(int)attempt.Status} {attempt.ErrorText}");
        Assert.Contains(expectedUserName ?? signInName, await browser.HomePageAsync(), StringComparison.Ordinal);
    }
}
