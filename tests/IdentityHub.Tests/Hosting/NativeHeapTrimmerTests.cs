using System.Diagnostics.Metrics;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Hosting;

/// <summary>
/// Hosting:NativeHeapTrimInterval (docs/deployment.md, "Memory"): the server gives glibc's free heap pages back on that
/// interval (every 2 s by default), counted in identityhub.native_heap.trims; 00:00:00 turns it off; a value other than
/// 0 or 1 second..1 hour stops the start. The trims are read from this server's own meters (its IMeterFactory): the
/// in-process test servers share the meter name "IdentityHub", so a scrape of /metrics would also count other servers'.
/// </summary>
public sealed class NativeHeapTrimmerTests
{
    [Fact]
    public async Task Trimmer_WithShortInterval_TrimsRepeatedly_AndCountsEveryCall()
    {
        Assert.True(OperatingSystem.IsLinux(), "The server's native heap trimming is for Linux (glibc); this suite runs on Linux.");
        await using var server = await IdentityHubServer.StartAsync("Sqlite",
            settings => settings["Hosting:NativeHeapTrimInterval"] = "00:00:01");
        using var trims = new TrimCounter(server);

        // Three calls within 30 s at a 1 s interval: the trimmer keeps running, and every call is counted.
        Assert.True(await trims.WaitForAsync(3, TimeSpan.FromSeconds(30)), $"{trims.Count} trims counted within 30 s, expected at least 3.");
    }

    [Fact]
    public async Task Trimmer_IntervalZero_NeverTrims()
    {
        await using var server = await IdentityHubServer.StartAsync("Sqlite",
            settings => settings["Hosting:NativeHeapTrimInterval"] = "00:00:00");
        using var trims = new TrimCounter(server);

        // Longer than the 2 s default: a setting ignored would have trimmed at least once by now.
        Assert.False(await trims.WaitForAsync(1, TimeSpan.FromSeconds(5)), $"{trims.Count} trims counted with the trimmer off.");
    }

    /// <summary>Counts identityhub.native_heap.trims of one server only (its meters are scoped to its IMeterFactory).</summary>
    private sealed class TrimCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public TrimCounter(IdentityHubServer server)
        {
            var meters = server.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == "identityhub.native_heap.trims")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public async Task<bool> WaitForAsync(long atLeast, TimeSpan within)
        {
            var deadline = DateTime.UtcNow + within;
            while (DateTime.UtcNow < deadline)
            {
                if (Count >= atLeast)
                {
                    return true;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }

            return Count >= atLeast;
        }

        public void Dispose() => _listener.Dispose();
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
}
