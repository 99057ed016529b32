using IdentityHub.Server.Audit;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Security;
using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Factors;

/// <summary>A way to add a factor to a sign-in: authenticator code, SMS code, recovery code or password.</summary>
public enum SecondFactorMethod
{
    Totp,
    Sms,
    Recovery,
    Password,
}

/// <summary>
/// Which further factors an account can present, given those already used, and checking one. Every
/// failed check counts towards the account's lockout; a locked account passes no check.
/// </summary>
public sealed class SecondFactors(
    UserManager<ApplicationUser> users,
    TotpService totp,
    RecoveryCodes recovery,
    SmsCodes sms,
    Lockouts lockouts,
    SecurityEvents events)
{
    public async Task<IReadOnlyList<SecondFactorMethod>> AvailableAsync(ApplicationUser user, IReadOnlyList<string> used, CancellationToken cancellationToken)
    {
        var methods = new List<SecondFactorMethod>();
        if (!used.Contains(AuthenticationMethods.OneTimePassword) && await totp.IsEnabledAsync(user.Id, cancellationToken))
        {
            methods.Add(SecondFactorMethod.Totp);
        }

        if (!used.Contains(AuthenticationMethods.Sms) && user is { PhoneNumberConfirmed: true, PhoneNumber: not null })
        {
            methods.Add(SecondFactorMethod.Sms);
        }

        if (!used.Contains(AuthenticationMethods.OneTimePassword) && await recovery.RemainingAsync(user.Id, cancellationToken) > 0)
        {
            methods.Add(SecondFactorMethod.Recovery);
        }

        if (!used.Contains(AuthenticationMethods.Password) && await users.HasPasswordAsync(user))
        {
            methods.Add(SecondFactorMethod.Password);
        }

        return methods;
    }

    /// <summary>Sends an SMS code for the second step to the account's confirmed number.</summary>
    public Task<SmsIssue> SendSmsAsync(ApplicationUser user, CancellationToken cancellationToken) =>
        user is { PhoneNumberConfirmed: true, PhoneNumber: { } number }
            ? SendAndRecordAsync(user, number, cancellationToken)
            : Task.FromResult(new SmsIssue(false, TimeSpan.Zero));

    /// <summary>The amr value the factor adds when <paramref name="value"/> is right; null when it is wrong (counted).</summary>
    public async Task<string?> VerifyAsync(ApplicationUser user, SecondFactorMethod method, string? value, CancellationToken cancellationToken)
    {
        if (await users.IsLockedOutAsync(user))
        {
            return null;
        }

        var (ok, amr, name) = method switch
        {
            SecondFactorMethod.Totp => (await VerifyTotpAsync(user, value, cancellationToken), AuthenticationMethods.OneTimePassword, "otp"),
            SecondFactorMethod.Sms => (user.PhoneNumber is { } number
                && await sms.VerifyAsync(number, SmsCodePurpose.SecondFactor, value, cancellationToken) == SmsVerification.Succeeded,
                AuthenticationMethods.Sms, "sms"),
            SecondFactorMethod.Recovery => (await recovery.RedeemAsync(user.Id, value, cancellationToken), AuthenticationMethods.OneTimePassword, "recovery"),
            SecondFactorMethod.Password => (await users.CheckPasswordAsync(user, value ?? ""), AuthenticationMethods.Password, "pwd"),
            _ => (false, "", ""),
        };

        if (!ok)
        {
            await lockouts.FailAsync(user, AccountAction.SecondFactorFailed, name);
            return null;
        }

        await events.RecordAsync(method == SecondFactorMethod.Recovery ? AccountAction.RecoveryCodeUsed : AccountAction.SecondFactorSucceeded,
            user.Id, name, cancellationToken);
        return amr;
    }

    private async Task<bool> VerifyTotpAsync(ApplicationUser user, string? code, CancellationToken cancellationToken)
    {
        var result = await totp.VerifyAsync(user.Id, code, cancellationToken);
        if (result == TotpVerification.Reused)
        {
            await events.RecordAsync(AccountAction.TotpCodeReused, user.Id, "otp", cancellationToken);
        }

        return result == TotpVerification.Valid;
    }

    private async Task<SmsIssue> SendAndRecordAsync(ApplicationUser user, string number, CancellationToken cancellationToken)
    {
        var issue = await sms.IssueAsync(number, SmsCodePurpose.SecondFactor, user.Id, deliver: true, cancellationToken);
        await events.RecordAsync(issue.Sent ? AccountAction.SmsCodeSent : AccountAction.SmsCodeRefused, user.Id, "sms", cancellationToken);
        return issue;
    }
}
