namespace IdentityHub.Server.Verification;

/// <summary>Which check an authority performs.</summary>
public enum VerificationKind
{
    /// <summary>Public-security population database: name + ID number.</summary>
    PublicSecurityTwoElement,

    /// <summary>Mobile carrier: name + ID number + mobile number registered under that ID.</summary>
    CarrierThreeElement,

    /// <summary>Market regulation business registry: credit code + enterprise name + legal representative.</summary>
    BusinessRegistration,
}

/// <summary>
/// The error taxonomy every adapter maps its authority's answers to. Only <see cref="Timeout"/> and
/// <see cref="ProviderError"/> may be retried (with the same idempotency key); a mismatch is an answer.
/// </summary>
public enum VerificationOutcome
{
    Match,
    Mismatch,
    NotFound,
    InvalidInput,
    Unsupported,
    RateLimited,
    ProviderError,
    Timeout,
}

/// <summary>
/// What an authority is asked. <see cref="IdempotencyKey"/> is the same for every retry of one check, so
/// that an authority which received the first attempt neither answers twice nor bills twice.
/// </summary>
public abstract record VerificationRequest(string IdempotencyKey);

/// <summary>A person: name and normalised 18-character ID number, and for a carrier check the mobile number.</summary>
public sealed record PersonCheck(string IdempotencyKey, string Name, string IdNumber, string? Mobile = null) : VerificationRequest(IdempotencyKey)
{
    // Never print the ID number or the mobile (records print their members by default).
    public override string ToString() => $"PersonCheck {{ IdempotencyKey = {IdempotencyKey} }}";
}

public sealed record EnterpriseCheck(string IdempotencyKey, string CreditCode, string Name, string LegalRepresentative)
    : VerificationRequest(IdempotencyKey);

/// <summary>
/// An authority's answer, in the taxonomy. <see cref="RawCode"/> is the authority's own code, kept for the
/// audit trail; <see cref="MismatchedFields"/> names the failing fields where the authority says.
/// </summary>
public sealed record VerificationResult(
    VerificationOutcome Outcome,
    string Provider,
    VerificationKind Kind,
    string? TransactionId = null,
    string? RawCode = null,
    bool Billable = false,
    IReadOnlyList<string>? MismatchedFields = null,
    string? Detail = null,
    bool FromCache = false)
{
    public bool IsRetryable => Outcome is VerificationOutcome.Timeout or VerificationOutcome.ProviderError;

    /// <summary>An answer about the person or enterprise (cacheable), as opposed to an error of the call.</summary>
    public bool IsAnswer => Outcome is VerificationOutcome.Match or VerificationOutcome.Mismatch or VerificationOutcome.NotFound;
}

/// <summary>
/// One authority API, one class per provider. Adapters take a request record and return a result record;
/// they know nothing of IdentityHub's own HTTP requests, of OpenIddict or of pages, and they never throw
/// for an authority's failure: timeouts, refusals and broken answers are outcomes.
/// </summary>
public interface IVerificationAdapter
{
    /// <summary>The configured provider name (Verification:Providers:{name}).</summary>
    string Provider { get; }

    VerificationKind Kind { get; }

    Task<VerificationResult> VerifyAsync(VerificationRequest request, CancellationToken cancellationToken);
}
