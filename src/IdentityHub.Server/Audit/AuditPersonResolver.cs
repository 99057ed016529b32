using IdentityHub.Server.Identity;
using Microsoft.AspNetCore.Identity;

namespace IdentityHub.Server.Audit;

/// <summary>
/// Hook for the verification part: finds accounts by resident ID number through its blind index (an HMAC of the
/// normalised number), so that the number itself is never stored or compared in clear. Until an implementation
/// is registered, searching by ID number answers that it is not available.
/// </summary>
public interface IIdNumberLookup
{
    Task<IReadOnlyList<string>> FindUserIdsAsync(string idNumber, CancellationToken cancellationToken);
}

/// <summary>Who an auditor means: a user name, mobile number, internal id or ID number, as internal account ids.</summary>
public sealed record PersonQuery(string? UserId, string? UserName, string? Mobile, string? IdNumber)
{
    public bool Any => !string.IsNullOrWhiteSpace(UserId) || !string.IsNullOrWhiteSpace(UserName) || !string.IsNullOrWhiteSpace(Mobile)
                       || !string.IsNullOrWhiteSpace(IdNumber);
}

public sealed class AuditPersonResolver(UserManager<ApplicationUser> users, AccountLookup accounts, IServiceProvider services)
{
    public const string IdNumberUnavailable = "Search by ID number needs the verification part's blind index, which is not installed.";

    /// <summary>Null: no person filter. Empty: nobody matches (the answer is then empty, never everyone's events).</summary>
    public async Task<(IReadOnlyList<string>? Ids, string? Error)> ResolveAsync(PersonQuery query, CancellationToken cancellationToken)
    {
        if (!query.Any)
        {
            return (null, null);
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (!string.IsNullOrWhiteSpace(query.UserId))
        {
            ids.Add(query.UserId.Trim());
        }

        if (!string.IsNullOrWhiteSpace(query.UserName) && await users.FindByNameAsync(query.UserName.Trim()) is { } byName)
        {
            ids.Add(byName.Id);
        }

        if (!string.IsNullOrWhiteSpace(query.Mobile) && MobileNumber.TryNormalize(query.Mobile, out _)
            && await accounts.FindBySignInNameAsync(query.Mobile, cancellationToken) is { } byMobile && byMobile.PhoneNumber is not null)
        {
            ids.Add(byMobile.Id);
        }

        if (!string.IsNullOrWhiteSpace(query.IdNumber))
        {
            if (services.GetService<IIdNumberLookup>() is not { } lookup)
            {
                return (null, IdNumberUnavailable);
            }

            ids.UnionWith(await lookup.FindUserIdsAsync(query.IdNumber.Trim(), cancellationToken));
        }

        // Events of whoever the criteria name (several criteria: any of them).
        return (ids.ToList(), null);
    }
}
