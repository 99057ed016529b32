using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Mvc;

namespace IdentityHub.Server.Pages.Admin.Clients;

public sealed class IndexModel(ClientQueries clients) : ConsolePageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Q { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Department { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Kind { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    public Paged<ClientResponse> Results { get; private set; } = new([], 0, 1, 200);

    public async Task OnGetAsync() =>
        Results = await clients.ListAsync(Actor, new ClientQuery(Department, Status, Kind, Q, new PageRequest(1, 200)), HttpContext.RequestAborted);
}
