namespace IdentityHub.Server.Identity;

/// <summary>
/// Masked forms of personal data, as released to a client whose policy says "masked": enough for a person
/// to recognise their own record, not enough to identify someone (for example 1101**********002X).
/// </summary>
public static class Masking
{
    public static string IdNumber(string value) => KeepEnds(value, 4, 4);

    /// <summary>138****8000.</summary>
    public static string Phone(string value) => KeepEnds(value, 3, 4);

    /// <summary>张** : the family name stays.</summary>
    public static string Name(string value) => value.Length <= 1 ? "*" : value[..1] + new string('*', value.Length - 1);

    /// <summary>z***@example.gov.cn.</summary>
    public static string Email(string value)
    {
        var at = value.IndexOf('@', StringComparison.Ordinal);
        return at <= 0 ? Name(value) : value[..1] + "***" + value[at..];
    }

    /// <summary>1990-**-**: the year stays.</summary>
    public static string Birthdate(string value) => value.Length >= 4 ? value[..4] + "-**-**" : "****";

    public static string KeepEnds(string value, int head, int tail) =>
        value.Length <= head + tail
            ? new string('*', Math.Max(0, value.Length - 1)) + value[^1..]
            : value[..head] + new string('*', value.Length - head - tail) + value[^tail..];
}
