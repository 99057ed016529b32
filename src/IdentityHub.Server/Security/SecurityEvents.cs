using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Factors.Sms;
using IdentityHub.Server.Identity;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Security;

/// <summary>
/// Records what happens to an account's security: every step as an audit event, and the steps the
/// owner must know about (new device, new or removed factor, password change, lockout) as a message
/// in the message centre, also sent by SMS to a confirmed number when <see cref="SmsOptions.SecurityAlerts"/> is on.
/// </summary>
public sealed class SecurityEvents(
    IdentityHubDbContext db,
    IAuditLog audit,
    ISmsSender sms,
    TimeProvider clock,
    IOptions<SmsOptions> smsOptions,
    IStringLocalizer<SharedResource> text)
{
    public async Task RecordAsync(AccountAction action, string? userId, string? method = null, CancellationToken cancellationToken = default)
    {
        Add(action, userId, method);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>The audit event of <see cref="RecordAsync"/>, added to the caller's unit of work (saved with it).</summary>
    public void Add(AccountAction action, string? userId, string? method = null)
    {
        var id = userId ?? "unknown";
        audit.Add(AuditActor.User(id, null), new AccountSecurityEvent(action, id, method));
    }

    public async Task AlertAsync(ApplicationUser user, SecurityMessageKind kind, string? detail = null, CancellationToken cancellationToken = default)
    {
        AddAlert(user, kind, detail);
        await db.SaveChangesAsync(cancellationToken);
        await SendAlertAsync(user, kind, detail, cancellationToken);
    }

    /// <summary>
    /// The message-centre entry of <see cref="AlertAsync"/>, added to the caller's unit of work; once that is saved,
    /// <see cref="SendAlertAsync"/> sends the SMS copy.
    /// </summary>
    public void AddAlert(ApplicationUser user, SecurityMessageKind kind, string? detail = null) =>
        db.Set<SecurityMessage>().Add(new SecurityMessage
        {
            UserId = user.Id,
            Kind = kind,
            Detail = detail is { Length: > 200 } ? detail[..200] : detail,
            CreatedAtUtc = clock.GetUtcNow().UtcDateTime,
        });

    /// <summary>The SMS copy of a saved alert, to a confirmed number when <see cref="SmsOptions.SecurityAlerts"/> is on.</summary>
    public async Task SendAlertAsync(ApplicationUser user, SecurityMessageKind kind, string? detail = null, CancellationToken cancellationToken = default)
    {
        if (smsOptions.Value.SecurityAlerts && user.PhoneNumberConfirmed && user.PhoneNumber is { } number)
        {
            await sms.SendAsync(new SmsMessage(number, text["Sms_Alert", Describe(kind, detail)]), cancellationToken);
        }
    }

    public string Describe(SecurityMessageKind kind, string? detail) => kind switch
    {
        SecurityMessageKind.NewDeviceSignIn => text["Message_NewDevice", detail ?? ""],
        SecurityMessageKind.FactorAdded => text["Message_FactorAdded", FactorName(detail)],
        SecurityMessageKind.FactorRemoved => text["Message_FactorRemoved", FactorName(detail)],
        SecurityMessageKind.PasswordChanged => detail == "reset" ? text["Message_PasswordReset"] : text["Message_PasswordChanged"],
        SecurityMessageKind.AccountLocked => text["Message_AccountLocked"],
        _ => kind.ToString(),
    };

    private string FactorName(string? factor) => text["Factor_" + (factor ?? "unknown")];
}
