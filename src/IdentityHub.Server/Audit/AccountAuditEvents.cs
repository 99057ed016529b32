namespace IdentityHub.Server.Audit;

/// <summary>What happened to an account's authentication. The event type is "account." + the snake-case name.</summary>
public enum AccountAction
{
    SignInSucceeded,
    SignInFailed,
    SecondFactorRequired,
    SecondFactorSucceeded,
    SecondFactorFailed,
    StepUpSucceeded,
    LockedOut,
    SmsCodeSent,
    SmsCodeRefused,
    SmsCodeFailed,
    TotpEnrolmentStarted,
    TotpEnabled,
    TotpDisabled,
    TotpCodeReused,
    RecoveryCodesGenerated,
    RecoveryCodeUsed,
    PhoneConfirmed,
    TwoFactorEnabled,
    TwoFactorDisabled,
    PasskeyAdded,
    PasskeyRemoved,
    PasswordChanged,
    PasswordReset,
    NewDeviceSignIn,
    RateLimited,
}

/// <summary>
/// One account security event. <paramref name="Method"/> names the factor (pwd, otp, sms, hwk, swk,
/// recovery) when there is one; nothing personal (no name, number, code or password) is ever recorded.
/// </summary>
public sealed record AccountSecurityEvent(AccountAction Action, string UserId, string? Method = null)
    : AuditRecord(UserId, null, null, Method is null ? null : new { method = Method })
{
    public override string EventType => "account." + System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(Action.ToString());

    public override string TargetType => "user";
}
