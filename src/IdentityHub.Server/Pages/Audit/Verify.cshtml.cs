using IdentityHub.Server.Audit;

namespace IdentityHub.Server.Pages.Audit;

/// <summary>Recomputes the chains on request (a button: it reads every row) and shows the findings, the first one first.</summary>
public sealed class VerifyModel(AuditVerification verification, IAuditLog audit) : AuditorPageModel
{
    public AuditVerificationReport? Report { get; private set; }

    public void OnGet()
    {
    }

    public async Task OnPostAsync()
    {
        Report = await verification.VerifyAsync(HttpContext.RequestAborted);
        await audit.WriteAsync(Actor.Audit, new AuditQueried("console.verify", new { valid = Report.Valid }, Report.Findings.Count));
    }
}
