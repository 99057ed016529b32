using System.Security.Cryptography;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>Names no other test uses, so that every test creates data of its own on a shared server.</summary>
public static class UniqueNames
{
    private static readonly int MobileBase = RandomNumberGenerator.GetInt32(0, 50_000_000);
    private static int _counter;

    private static string Suffix() => Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant();

    /// <summary>A department code: a-z first, then a-z, 0-9 and '-'.</summary>
    public static string Department() => "d" + Suffix();

    public static string Client() => "client-" + Suffix();

    public static string User() => "user_" + Suffix();

    /// <summary>A mainland China mobile number (11 digits, 1[3-9]...), different on every call in this process.</summary>
    public static string Mobile()
    {
        var n = MobileBase + Interlocked.Increment(ref _counter);
        return "139" + n.ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A password the policy accepts (length 8+, 4+ distinct characters).</summary>
    public static string Password() => "Pw-" + Suffix() + "-ok";
}
