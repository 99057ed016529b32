using System.Security.Cryptography;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Verification;

namespace IdentityHub.Server.Identity.RealName;

public enum PersonVerificationStatus
{
    Verified,
    InvalidName,

    /// <summary>The number failed local validation (<see cref="PersonVerificationOutcome.Problem"/>); no authority was asked.</summary>
    InvalidIdNumber,

    /// <summary>The authority did not confirm name and number. Mismatch and not-found read the same to the person.</summary>
    NotConfirmed,
    HeldByAnotherAccount,
    AccountHasAnotherIdentity,
    TooManyAttempts,
    Unavailable,
}

public sealed record PersonVerificationOutcome(PersonVerificationStatus Status, IdNumberProblem Problem = IdNumberProblem.None, int Level = 0);

/// <summary>
/// The citizen's verification journey: local validation first (an invalid number is never sent, nor
/// paid for), then the authority through <see cref="VerificationGateway"/>, then the binding (one account
/// per ID number). A service-hall clerk's in-person check binds at L4 without an authority call.
/// </summary>
public sealed class PersonVerification(VerificationGateway gateway, RealNameService realNames, TimeProvider clock)
{
    public const string HallProvider = "service-hall";

    public async Task<PersonVerificationOutcome> VerifyOnlineAsync(ApplicationUser user, string? name, string? idNumber, CancellationToken cancellationToken)
    {
        if (Invalid(name, idNumber) is { } error)
        {
            return error;
        }

        var (legalName, check) = (name!.Trim(), IdNumber.Validate(idNumber, IdNumber.TodayInChina(clock)));
        var actor = AuditActor.User(user.Id, user.UserName);
        // The carrier three-element check (a fallback) uses the account's proved mobile number.
        var request = new PersonCheck(Guid.NewGuid().ToString("N"), legalName, check.Normalized, user.PhoneNumberConfirmed ? user.PhoneNumber : null);
        var result = await gateway.VerifyPersonAsync(request, actor, user.Id, cancellationToken);
        switch (result.Outcome)
        {
            case VerificationOutcome.Match:
                var evidenceCheck = result.Kind == VerificationKind.CarrierThreeElement
                    ? EvidenceChecks.CarrierThreeElement
                    : EvidenceChecks.PublicSecurityTwoElement;
                return await BindAsync(user, legalName, check, new EvidenceInput(2, evidenceCheck, result.Provider, result.TransactionId), actor,
                    cancellationToken);
            case VerificationOutcome.Mismatch or VerificationOutcome.NotFound or VerificationOutcome.InvalidInput:
                return new(PersonVerificationStatus.NotConfirmed);
            case VerificationOutcome.RateLimited when result.Provider == VerificationGateway.LocalProvider:
                return new(PersonVerificationStatus.TooManyAttempts);
            default:
                return new(PersonVerificationStatus.Unavailable);
        }
    }

    /// <summary>L4: the clerk read the ID card's chip and compared the face, at the counter.</summary>
    public async Task<PersonVerificationOutcome> VerifyInPersonAsync(ApplicationUser clerk, ApplicationUser citizen, string? name, string? idNumber,
        CancellationToken cancellationToken)
    {
        if (Invalid(name, idNumber) is { } error)
        {
            return error;
        }

        var check = IdNumber.Validate(idNumber, IdNumber.TodayInChina(clock));
        var transaction = "HALL-" + clock.GetUtcNow().ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture) + "-"
            + Convert.ToHexString(RandomNumberGenerator.GetBytes(4));
        var evidence = new EvidenceInput(AssuranceLevels.Maximum, EvidenceChecks.InPerson, HallProvider, transaction, clerk.Id, clerk.UserName);
        return await BindAsync(citizen, name!.Trim(), check, evidence, AuditActor.User(clerk.Id, clerk.UserName), cancellationToken);
    }

    private async Task<PersonVerificationOutcome> BindAsync(ApplicationUser user, string name, IdNumberCheck check, EvidenceInput evidence,
        AuditActor actor, CancellationToken cancellationToken) =>
        await realNames.BindAsync(user, name, check, evidence, actor, cancellationToken) switch
        {
            BindResult.Bound => new(PersonVerificationStatus.Verified, Level: AssuranceLevels.Of(user)),
            BindResult.HeldByAnotherAccount => new(PersonVerificationStatus.HeldByAnotherAccount),
            _ => new(PersonVerificationStatus.AccountHasAnotherIdentity),
        };

    private PersonVerificationOutcome? Invalid(string? name, string? idNumber)
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length is < 2 or > 50 || trimmed.Any(char.IsDigit))
        {
            return new(PersonVerificationStatus.InvalidName);
        }

        var check = IdNumber.Validate(idNumber, IdNumber.TodayInChina(clock));
        return check.IsValid ? null : new(PersonVerificationStatus.InvalidIdNumber, check.Problem);
    }
}
