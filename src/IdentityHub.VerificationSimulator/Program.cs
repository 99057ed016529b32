namespace IdentityHub.VerificationSimulator;

/// <summary>Entry point (not top-level statements: the test project also sees the server's global Program).</summary>
internal static class Program
{
    public static async Task Main(string[] args) => await SimulatorApp.Build(args).RunAsync();
}
