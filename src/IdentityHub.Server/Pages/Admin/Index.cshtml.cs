namespace IdentityHub.Server.Pages.Admin;

/// <summary>The console's start page: who you are and what you may do.</summary>
public sealed class IndexModel : ConsolePageModel
{
    public void OnGet()
    {
    }
}
