using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Identity.RealName;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Identity.Enterprises;

public enum MandateResult
{
    Granted,
    Revoked,

    /// <summary>No verified citizen has this mobile number and name (one answer for both, so it reveals neither).</summary>
    AgentNotFound,
    InvalidExpiry,
    AlreadyAnAgent,
    NotAllowed,
}

/// <summary>An enterprise as a person sees it: as legal representative, or as agent with the mandate's expiry.</summary>
public sealed record EnterpriseView(Enterprise Enterprise, string Role, AgentMandate? Mandate);

/// <summary>An agent as the legal representative sees them: masked name and number, validity.</summary>
public sealed record AgentView(string MandateId, string Name, string Mobile, DateTime GrantedAtUtc, DateTime ExpiresAtUtc, DateTime? RevokedAtUtc, bool Active);

/// <summary>
/// Agents: the legal representative authorises verified citizens to act for the enterprise until an expiry,
/// and revokes them. What a person may act for is read fresh at every authorization and token request.
/// </summary>
public sealed class AgentMandates(IdentityHubDbContext db, AccountLookup accounts, RealNameService realNames, IAuditLog audit, TimeProvider clock)
{
    public static readonly TimeSpan MaxValidity = TimeSpan.FromDays(3 * 366);

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<List<EnterpriseView>> MineAsync(string userId, CancellationToken cancellationToken)
    {
        var now = Now;
        var represented = await db.Set<Enterprise>().AsNoTracking().Where(e => e.LegalRepresentativeUserId == userId)
            .OrderBy(e => e.RegisteredAtUtc).ToListAsync(cancellationToken);
        var mandates = await db.Set<AgentMandate>().AsNoTracking().Include(m => m.Enterprise)
            .Where(m => m.AgentUserId == userId && m.RevokedAtUtc == null && m.ExpiresAtUtc > now).ToListAsync(cancellationToken);
        return [.. represented.Select(e => new EnterpriseView(e, ActingFor.LegalRepresentative, null)),
            .. mandates.Select(m => new EnterpriseView(m.Enterprise!, ActingFor.Agent, m))];
    }

    /// <summary>What the person may act for now: verified enterprises they represent, and active mandates.</summary>
    public async Task<IReadOnlyList<ActingFor>> ActingOptionsAsync(string userId, CancellationToken cancellationToken) =>
        (await MineAsync(userId, cancellationToken))
            .Where(v => v.Enterprise.Status == EnterpriseStatus.Verified)
            .Select(v => new ActingFor(v.Enterprise.Id, v.Enterprise.CreditCode, v.Enterprise.Name, v.Role, v.Mandate?.Id))
            .ToList();

    public async Task<ActingFor?> FindActingAsync(string userId, string enterpriseId, CancellationToken cancellationToken) =>
        (await ActingOptionsAsync(userId, cancellationToken)).FirstOrDefault(o => o.EnterpriseId == enterpriseId);

    public async Task<Enterprise?> RepresentedAsync(string legalRepresentativeId, string? enterpriseId, CancellationToken cancellationToken) =>
        await db.Set<Enterprise>().SingleOrDefaultAsync(e => e.Id == enterpriseId && e.LegalRepresentativeUserId == legalRepresentativeId,
            cancellationToken);

    public async Task<List<AgentView>> AgentsAsync(string enterpriseId, CancellationToken cancellationToken)
    {
        var now = Now;
        var rows = await db.Set<AgentMandate>().AsNoTracking().Where(m => m.EnterpriseId == enterpriseId).OrderByDescending(m => m.GrantedAtUtc)
            .Join(db.Set<RealNameRecord>(), m => m.AgentUserId, r => r.UserId, (m, r) => new { m, r.Name })
            .Join(db.Users, x => x.m.AgentUserId, u => u.Id, (x, u) => new { x.m, x.Name, u.PhoneNumber })
            .ToListAsync(cancellationToken);
        return rows.Select(x => new AgentView(x.m.Id, Masking.Name(x.Name), Masking.Phone(x.PhoneNumber ?? ""), x.m.GrantedAtUtc, x.m.ExpiresAtUtc,
            x.m.RevokedAtUtc, x.m.IsActive(now))).ToList();
    }

    public async Task<MandateResult> GrantAsync(ApplicationUser legalRepresentative, Enterprise enterprise, string? agentMobile, string? agentName,
        DateOnly? expires, CancellationToken cancellationToken)
    {
        if (enterprise.LegalRepresentativeUserId != legalRepresentative.Id || enterprise.Status != EnterpriseStatus.Verified)
        {
            return MandateResult.NotAllowed;
        }

        var expiresAt = expires?.ToDateTime(new TimeOnly(23, 59, 59), DateTimeKind.Utc).AddHours(-8); // end of that day, China time
        if (expiresAt is null || expiresAt <= Now || expiresAt > Now + MaxValidity)
        {
            return MandateResult.InvalidExpiry;
        }

        // The agent must be a verified citizen whose verified name matches the one the legal representative gave.
        var agent = MobileNumber.TryNormalize(agentMobile, out var mobile) ? await accounts.FindBySignInNameAsync(mobile, cancellationToken) : null;
        var identity = agent is null ? null : await realNames.FindAsync(agent.Id, cancellationToken);
        if (agent is null || identity is null || AssuranceLevels.Of(agent) < 2 || identity.Name != agentName?.Trim() || agent.Id == legalRepresentative.Id)
        {
            return MandateResult.AgentNotFound;
        }

        var now = Now;
        if (await db.Set<AgentMandate>().AnyAsync(m => m.EnterpriseId == enterprise.Id && m.AgentUserId == agent.Id && m.RevokedAtUtc == null
                && m.ExpiresAtUtc > now, cancellationToken))
        {
            return MandateResult.AlreadyAnAgent;
        }

        var mandate = new AgentMandate
        {
            EnterpriseId = enterprise.Id,
            AgentUserId = agent.Id,
            GrantedByUserId = legalRepresentative.Id,
            GrantedAtUtc = now,
            ExpiresAtUtc = expiresAt.Value,
        };
        db.Add(mandate);
        audit.Add(AuditActor.User(legalRepresentative.Id, legalRepresentative.UserName),
            new EnterpriseChanged("agent_authorized", enterprise.CreditCode, new { mandateId = mandate.Id, agent = agent.Id, expiresAtUtc = mandate.ExpiresAtUtc }));
        await db.SaveChangesAsync(cancellationToken);
        return MandateResult.Granted;
    }

    public async Task<MandateResult> RevokeAsync(ApplicationUser legalRepresentative, Enterprise enterprise, string? mandateId,
        CancellationToken cancellationToken)
    {
        var mandate = await db.Set<AgentMandate>().SingleOrDefaultAsync(m => m.Id == mandateId && m.EnterpriseId == enterprise.Id, cancellationToken);
        if (mandate is null || enterprise.LegalRepresentativeUserId != legalRepresentative.Id)
        {
            return MandateResult.NotAllowed;
        }

        if (mandate.RevokedAtUtc is null)
        {
            mandate.RevokedAtUtc = Now;
            mandate.RevokedByUserId = legalRepresentative.Id;
            audit.Add(AuditActor.User(legalRepresentative.Id, legalRepresentative.UserName),
                new EnterpriseChanged("agent_revoked", enterprise.CreditCode, new { mandateId = mandate.Id, agent = mandate.AgentUserId }));
            await db.SaveChangesAsync(cancellationToken);
        }

        return MandateResult.Revoked;
    }

    /// <summary>Audit: the person (actor) signed in to a client acting for the enterprise (target), as agent or legal representative.</summary>
    public async Task RecordActingAsync(ApplicationUser person, ActingFor acting, string clientId, CancellationToken cancellationToken)
    {
        audit.Add(AuditActor.User(person.Id, person.UserName),
            new EnterpriseChanged("acting_sign_in", acting.CreditCode, new { clientId, role = acting.Role, acting.MandateId, agent = person.Id }));
        await db.SaveChangesAsync(cancellationToken);
    }
}
