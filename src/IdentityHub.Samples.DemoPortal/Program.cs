namespace IdentityHub.Samples.DemoPortal;

/// <summary>
/// Entry point. Deliberately not top-level statements: those generate a global Program class, and the
/// test project, which hosts both IdentityHub and this portal, already sees the server's.
/// </summary>
internal static class Program
{
    public static async Task Main(string[] args) => await DemoPortalApp.Build(args).RunAsync();
}
