using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Verification;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Identity.Enterprises;

public enum EnterpriseRegistrationStatus
{
    Verified,

    /// <summary>The code fails the GB 32100 checksum: recorded for a clerk's review, not refused silently.</summary>
    PendingReview,
    InvalidCode,
    InvalidName,

    /// <summary>Only a verified citizen (L2+) can register an enterprise as its legal representative.</summary>
    NotAVerifiedCitizen,
    AlreadyRegistered,

    /// <summary>The registry did not confirm code, name and legal representative (mismatch and not-found read the same).</summary>
    NotConfirmed,
    TooManyAttempts,
    Unavailable,
}

/// <summary>
/// Registers an enterprise by credit code and name, with the signed-in verified citizen as its legal
/// representative: the code is checked locally first, then the business registry confirms all three.
/// </summary>
public sealed class EnterpriseRegistry(IdentityHubDbContext db, VerificationGateway gateway, RealNameService realNames, IAuditLog audit,
    TimeProvider clock)
{
    public async Task<(EnterpriseRegistrationStatus Status, string? Detail)> RegisterAsync(ApplicationUser person, string? creditCode, string? name,
        CancellationToken cancellationToken)
    {
        var identity = await realNames.FindAsync(person.Id, cancellationToken);
        if (identity is null || AssuranceLevels.Of(person) < 2)
        {
            return (EnterpriseRegistrationStatus.NotAVerifiedCitizen, null);
        }

        var enterpriseName = name?.Trim() ?? "";
        if (enterpriseName.Length is < 2 or > 200)
        {
            return (EnterpriseRegistrationStatus.InvalidName, null);
        }

        // People type codes in lower case; the alphabet is upper case (GB 32100 section 4).
        var check = CreditCode.Validate(creditCode?.Trim().ToUpperInvariant());
        if (check.Status == CreditCodeStatus.Invalid)
        {
            return (EnterpriseRegistrationStatus.InvalidCode, check.Problem);
        }

        if (await db.Set<Enterprise>().AnyAsync(e => e.CreditCode == check.Normalized, cancellationToken))
        {
            return (EnterpriseRegistrationStatus.AlreadyRegistered, null);
        }

        var actor = AuditActor.User(person.Id, person.UserName);
        var now = clock.GetUtcNow().UtcDateTime;
        var enterprise = new Enterprise
        {
            CreditCode = check.Normalized,
            Name = enterpriseName,
            LegalRepresentativeUserId = person.Id,
            RegisteredAtUtc = now,
        };
        if (check.Status == CreditCodeStatus.NeedsReview)
        {
            enterprise.Status = EnterpriseStatus.PendingReview;
            return await SaveAsync(enterprise, actor, cancellationToken) ? (EnterpriseRegistrationStatus.PendingReview, check.Problem)
                : (EnterpriseRegistrationStatus.AlreadyRegistered, null);
        }

        var result = await gateway.VerifyEnterpriseAsync(new EnterpriseCheck(Guid.NewGuid().ToString("N"), check.Normalized, enterpriseName, identity.Name),
            actor, person.Id, cancellationToken);
        switch (result.Outcome)
        {
            case VerificationOutcome.Match:
                enterprise.Status = EnterpriseStatus.Verified;
                enterprise.Provider = result.Provider;
                enterprise.TransactionId = result.TransactionId;
                enterprise.VerifiedAtUtc = now;
                return await SaveAsync(enterprise, actor, cancellationToken) ? (EnterpriseRegistrationStatus.Verified, null)
                    : (EnterpriseRegistrationStatus.AlreadyRegistered, null);
            case VerificationOutcome.Mismatch or VerificationOutcome.NotFound or VerificationOutcome.InvalidInput:
                return (EnterpriseRegistrationStatus.NotConfirmed, null);
            case VerificationOutcome.RateLimited when result.Provider == VerificationGateway.LocalProvider:
                return (EnterpriseRegistrationStatus.TooManyAttempts, null);
            default:
                return (EnterpriseRegistrationStatus.Unavailable, null);
        }
    }

    private async Task<bool> SaveAsync(Enterprise enterprise, AuditActor actor, CancellationToken cancellationToken)
    {
        db.Add(enterprise);
        audit.Add(actor, new EnterpriseChanged("registered", enterprise.CreditCode, new
        {
            enterprise.Name,
            status = enterprise.Status.ToString(),
            legalRepresentative = enterprise.LegalRepresentativeUserId,
            enterprise.Provider,
            enterprise.TransactionId,
        }));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException)
        {
            // The unique credit code index caught a concurrent registration.
            db.ChangeTracker.Clear();
            return false;
        }
    }
}

/// <summary>Registration, mandates granted and revoked, and sign-ins acting for the enterprise; target: its credit code.</summary>
public sealed record EnterpriseChanged(string Change, string CreditCode, object After) : AuditRecord(CreditCode, null, null, After)
{
    public override string EventType => "enterprise." + Change;

    public override string TargetType => "enterprise";

    /// <summary>Auditors filter by enterprise (credit code).</summary>
    public override string? EnterpriseId => CreditCode;
}
