using IdentityHub.Server.Identity;

namespace IdentityHub.Server.Audit;

/// <summary>
/// The auditor's search, as query parameters of /api/audit/events (and its export) and of the /Audit screen.
/// Times are ISO 8601 instants (2026-11-29T08:00:00+08:00); <c>to</c> is exclusive.
/// </summary>
public sealed record AuditSearchRequest(
    string? UserId = null,
    string? UserName = null,
    string? Mobile = null,
    string? IdNumber = null,
    string? Enterprise = null,
    string? Department = null,
    string? Client = null,
    string? Type = null,
    string? Outcome = null,
    string? Ip = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    string? Cursor = null,
    int? Limit = null)
{
    /// <summary>The filter, or the message of a criterion that cannot be used.</summary>
    public async Task<(AuditFilter? Filter, string? Error)> ToFilterAsync(AuditPersonResolver people, CancellationToken cancellationToken)
    {
        if (Outcome is { Length: > 0 } && Outcome is not (AuditOutcomes.Success or AuditOutcomes.Failure))
        {
            return (null, "outcome: \"success\" or \"failure\".");
        }

        var (ids, error) = await people.ResolveAsync(new PersonQuery(UserId, UserName, Mobile, IdNumber), cancellationToken);
        if (error is not null)
        {
            return (null, "idNumber: " + error);
        }

        return (new AuditFilter(ids, Trim(Enterprise), Trim(Department), Trim(Client), Trim(Type), Trim(Outcome), Trim(Ip),
            From?.UtcDateTime, To?.UtcDateTime), null);
    }

    /// <summary>What the audit.query event records of this search: a mobile or ID number only masked.</summary>
    public object Describe() => new
    {
        userId = UserId, userName = UserName, mobile = Mobile is { Length: > 0 } mobile ? Masking.Phone(mobile) : null, idNumber = IdNumber is { Length: > 0 } id ? Masking.IdNumber(id) : null,
        enterprise = Enterprise, department = Department, client = Client, type = Type, outcome = Outcome, ip = Ip,
        from = From?.UtcDateTime, to = To?.UtcDateTime, cursor = Cursor,
    };

    private static string? Trim(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
