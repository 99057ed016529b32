using System.Text.RegularExpressions;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Hosting;

/// <summary>
/// Hosting:NativeHeapTrimInterval (docs/deployment.md, "Memory"): the server gives glibc's free heap pages back on that
/// interval (every 2 s by default), counted in identityhub.native_heap.trims; a value other than 0 (off) or 1 second..1 hour stops the start. (That 00:00:00 turns it
/// off is not asserted here: the in-process test servers share the process's "IdentityHub" meter, so another server's
/// trims would show on this one's /metrics.)
/// </summary>
public sealed partial class NativeHeapTrimmerTests
{
    [Fact]
    public async Task Trimmer_WithShortInterval_TrimsRepeatedly_AndCountsEveryCall()
    {
        Assert.True(OperatingSystem.IsLinux(), "The server's native heap trimming is for Linux (glibc); this suite runs on Linux.");
        await using var server = await IdentityHubServer.StartAsync("Sqlite",
            settings => settings["Hosting:NativeHeapTrimInterval"] = "00:00:01");
        using var http = server.CreateHttpClient();

        // The first scrape sees the trims since the start; a later one more of them: the trimmer keeps running.
        var first = await WaitForTrimsAsync(http, atLeast: 1);
        var later = await WaitForTrimsAsync(http, atLeast: first + 2);

        Assert.True(later > first, $"trims {first} then {later}");
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("00:00:00.5")]
    [InlineData("02:00:00")]
    public async Task Server_NativeHeapTrimIntervalOutOfRange_ExitsWith1NamingTheSetting(string interval)
    {
        var data = Directory.CreateTempSubdirectory("identityhub-trim-");
        try
        {
            await using var server = ServerProcess.Start(new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                ["ASPNETCORE_URLS"] = "http://127.0.0.1:" + TestPorts.Free(),
                ["Database__DataDirectory"] = data.FullName,
                ["Hosting__NativeHeapTrimInterval"] = interval,
            });

            var exitCode = await server.WaitForExitAsync();

            Assert.True(exitCode == 1, $"Exit code {exitCode}.\nstdout:\n{server.StandardOutput}\nstderr:\n{server.StandardError}");
            Assert.Contains("Hosting:NativeHeapTrimInterval", server.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", server.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                data.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A file still held by the ending process; the temp folder is cleaned by the OS.
            }
        }
    }

    private static async Task<long> WaitForTrimsAsync(HttpClient http, long atLeast)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        long trims = 0;
        while (DateTime.UtcNow < deadline)
        {
            var text = await http.GetStringAsync("metrics");
            trims = TrimSeries().Matches(text).Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            if (trims >= atLeast)
            {
                return trims;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        Assert.Fail($"identityhub_native_heap_trims_total reached {trims}, expected at least {atLeast} within 30 s.");
        return trims;
    }

    [GeneratedRegex(@"^identityhub_native_heap_trims_total\{[^}]*\} (\d+)", RegexOptions.Multiline)]
    private static partial Regex TrimSeries();
}
