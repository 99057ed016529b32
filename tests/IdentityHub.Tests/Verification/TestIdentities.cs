using System.Globalization;
using System.Security.Cryptography;
using IdentityHub.Server.Verification;

namespace IdentityHub.Tests.Verification;

/// <summary>Fresh, locally valid ID numbers and credit codes, so that every test binds identities no other test uses.</summary>
public static class TestIdentities
{
    private static int _counter = RandomNumberGenerator.GetInt32(0, 100_000);

    /// <summary>A valid 18-character ID number (Beijing prefix, a birth date between 1950 and 2004).</summary>
    public static string NewIdNumber(bool male = true)
    {
        var n = Interlocked.Increment(ref _counter);
        var birth = new DateOnly(1950, 1, 1).AddDays(RandomNumberGenerator.GetInt32(0, 20_000));
        var sequence = (n % 500) * 2 + (male ? 1 : 0);
        var first17 = "110105" + birth.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + sequence.ToString("D3", CultureInfo.InvariantCulture);
        return first17 + IdNumber.CheckCharacter(first17);
    }

    /// <summary>A valid unified social credit code (registered with market regulation, an enterprise, Beijing).</summary>
    public static string NewCreditCode()
    {
        var body = "91110105" + new string(Enumerable.Range(0, 9)
            .Select(_ => CreditCode.Alphabet[RandomNumberGenerator.GetInt32(0, CreditCode.Alphabet.Length)]).ToArray());
        return body + CreditCode.CheckCharacter(body);
    }
}
