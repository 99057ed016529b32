using System.Globalization;
using IdentityHub.Server.Audit;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Pages.Audit;

/// <summary>
/// The auditor's search: person (user name, mobile, internal id, ID number once the verification part provides
/// its blind index), enterprise, department, client, event type, outcome, IP and time range (local time of
/// Audit:StatisticsUtcOffset), newest first by keyset pages, with CSV and JSON export links to the API.
/// </summary>
public sealed class IndexModel(AuditPersonResolver people, AuditQueries queries, IAuditLog audit) : AuditorPageModel
{
    private const int PageSize = 50;

    [BindProperty(SupportsGet = true)] public string? UserName { get; set; }
    [BindProperty(SupportsGet = true)] public string? Mobile { get; set; }
    [BindProperty(SupportsGet = true)] public string? UserId { get; set; }
    [BindProperty(SupportsGet = true)] public string? IdNumber { get; set; }
    [BindProperty(SupportsGet = true)] public string? Enterprise { get; set; }
    [BindProperty(SupportsGet = true)] public string? Department { get; set; }
    [BindProperty(SupportsGet = true)] public string? Client { get; set; }
    [BindProperty(SupportsGet = true)] public string? Type { get; set; }
    [BindProperty(SupportsGet = true)] public string? Outcome { get; set; }
    [BindProperty(SupportsGet = true)] public string? Ip { get; set; }

    /// <summary>yyyy-MM-ddTHH:mm (a datetime-local field) in the screen's offset.</summary>
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }

    public AuditPage Results { get; private set; } = new([], null);

    public string? Error { get; private set; }

    public string ExportQuery { get; private set; } = "";

    public async Task OnGetAsync()
    {
        var request = new AuditSearchRequest(UserId, UserName, Mobile, IdNumber, Enterprise, Department, Client, Type, Outcome, Ip,
            ParseLocal(From), ParseLocal(To), Cursor, PageSize);
        var (filter, error) = await request.ToFilterAsync(people, HttpContext.RequestAborted);
        if (filter is null)
        {
            Error = error;
            return;
        }

        Results = await queries.SearchAsync(filter, Cursor, PageSize, HttpContext.RequestAborted);
        ExportQuery = QueryString.Create(new Dictionary<string, string?>
        {
            ["userName"] = UserName, ["mobile"] = Mobile, ["userId"] = UserId, ["idNumber"] = IdNumber, ["enterprise"] = Enterprise,
            ["department"] = Department, ["client"] = Client, ["type"] = Type, ["outcome"] = Outcome, ["ip"] = Ip,
            ["from"] = request.From?.ToString("O", CultureInfo.InvariantCulture), ["to"] = request.To?.ToString("O", CultureInfo.InvariantCulture),
        }.Where(p => !string.IsNullOrWhiteSpace(p.Value))).ToString();
        await audit.WriteAsync(Actor.Audit, new AuditQueried("console.events", request.Describe(), Results.Items.Count));
    }

    /// <summary>This page's URL with another cursor.</summary>
    public string PageUrl(string cursor) => "/Audit" + QueryString.Create(Request.Query
        .Where(q => q.Key != nameof(Cursor))
        .Select(q => KeyValuePair.Create(q.Key, (string?)q.Value.ToString()))
        .Append(KeyValuePair.Create(nameof(Cursor), (string?)cursor)));

    private DateTimeOffset? ParseLocal(string? value) =>
        DateTime.TryParseExact(value, ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"], CultureInfo.InvariantCulture,
            DateTimeStyles.None, out var local)
            ? new DateTimeOffset(local, Offset)
            : null;
}
