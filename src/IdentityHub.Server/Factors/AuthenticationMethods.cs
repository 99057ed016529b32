namespace IdentityHub.Server.Factors;

/// <summary>
/// The amr values (RFC 8176 section 2) IdentityHub puts in tokens, and the acr values it defines.
/// A recovery code is a look-up secret (NIST SP 800-63B section 5.1.2): it counts as "otp". A passkey
/// is "hwk" when it is bound to its device and "swk" when it can be synced (WebAuthn backup eligibility);
/// with user verification (PIN or biometrics on the device) it is a multi-factor authenticator by itself.
/// </summary>
public static class AuthenticationMethods
{
    public const string Password = "pwd";
    public const string OneTimePassword = "otp";
    public const string Sms = "sms";
    public const string HardwareKey = "hwk";
    public const string SoftwareKey = "swk";
    public const string MultiFactor = "mfa";

    /// <summary>acr of a session with one factor.</summary>
    public const string SingleFactorAcr = "urn:identityhub:acr:sfa";

    /// <summary>acr of a session with two or more factors, or a user-verified passkey.</summary>
    public const string MultiFactorAcr = "urn:identityhub:acr:mfa";

    public static readonly IReadOnlyList<string> SupportedAcrValues = [SingleFactorAcr, MultiFactorAcr];

    public static bool IsMultiFactor(IEnumerable<string> methods)
    {
        // "mfa" itself, or two different methods besides it (ordinal). Without LINQ: it runs for every token issued.
        var any = false;
        string? first = null;
        foreach (var method in methods)
        {
            if (method == MultiFactor)
            {
                return true;
            }

            if (!any)
            {
                (any, first) = (true, method);
            }
            else if (!string.Equals(method, first, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The methods in the order used, without duplicates, with "mfa" added when they add up to multi-factor.</summary>
    public static IReadOnlyList<string> Normalize(IEnumerable<string> methods)
    {
        var factors = methods.Where(m => m != MultiFactor).Distinct(StringComparer.Ordinal).ToList();
        if (IsMultiFactor(methods))
        {
            factors.Add(MultiFactor);
        }

        return factors;
    }

    public static string AcrOf(IEnumerable<string> methods) => IsMultiFactor(methods) ? MultiFactorAcr : SingleFactorAcr;

    /// <summary>The amr of a passkey assertion.</summary>
    public static IReadOnlyList<string> OfPasskey(bool backupEligible, bool userVerified) =>
        userVerified ? [backupEligible ? SoftwareKey : HardwareKey, MultiFactor] : [backupEligible ? SoftwareKey : HardwareKey];
}
