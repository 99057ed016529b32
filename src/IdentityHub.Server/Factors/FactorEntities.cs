namespace IdentityHub.Server.Factors;

// The tables of the second factors and of account security (FactorModel maps them). Secrets are never
// stored as typed: the TOTP secret is protected with ASP.NET Core Data Protection, recovery codes and
// SMS codes are stored as hashes.

/// <summary>A person's authenticator app (RFC 6238 TOTP). One per account; unconfirmed until a first code is typed.</summary>
public sealed class TotpAuthenticator
{
    public required string UserId { get; set; }

    /// <summary>The base32 secret, protected by Data Protection (purpose <see cref="TotpService.ProtectorPurpose"/>).</summary>
    public required string ProtectedSecret { get; set; }

    public DateTime CreatedAtUtc { get; set; }

    public DateTime? ConfirmedAtUtc { get; set; }

    /// <summary>The RFC 6238 time step of the last accepted code: a code of this step or an earlier one is a replay (section 5.2).</summary>
    public long LastUsedTimeStep { get; set; }
}

/// <summary>A one-time recovery code, stored as SHA-256 over the user id and the code (80 random bits).</summary>
public sealed class RecoveryCode
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    public required string CodeHash { get; set; }

    public DateTime CreatedAtUtc { get; set; }

    public DateTime? UsedAtUtc { get; set; }
}

public enum SmsCodePurpose
{
    SignIn,
    SecondFactor,
    ConfirmPhone,
    ResetPassword,
}

/// <summary>A six-digit code sent by SMS: salted hash, expiry, and a failed-attempt counter.</summary>
public sealed class SmsCode
{
    public long Id { get; set; }

    public required string PhoneNumber { get; set; }

    public SmsCodePurpose Purpose { get; set; }

    public string? UserId { get; set; }

    public required string Salt { get; set; }

    public required string CodeHash { get; set; }

    public DateTime CreatedAtUtc { get; set; }

    public DateTime ExpiresAtUtc { get; set; }

    public int FailedAttempts { get; set; }

    public DateTime? ConsumedAtUtc { get; set; }
}

public enum SecurityMessageKind
{
    NewDeviceSignIn,
    FactorAdded,
    FactorRemoved,
    PasswordChanged,
    AccountLocked,
}

/// <summary>A message in the account's security message centre (/Account/Manage/Messages).</summary>
public sealed class SecurityMessage
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    public SecurityMessageKind Kind { get; set; }

    /// <summary>A non-secret detail: the factor (totp, sms, passkey, recovery), or the browser of a new device.</summary>
    public string? Detail { get; set; }

    public DateTime CreatedAtUtc { get; set; }

    public DateTime? ReadAtUtc { get; set; }
}

/// <summary>A browser an account has signed in from, known by the SHA-256 of its device cookie.</summary>
public sealed class KnownDevice
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    public required string DeviceHash { get; set; }

    public DateTime FirstSeenUtc { get; set; }

    public DateTime LastSeenUtc { get; set; }
}
