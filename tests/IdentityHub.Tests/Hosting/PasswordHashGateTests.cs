using System.Diagnostics.Metrics;
using System.Net;
using IdentityHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Hosting;

/// <summary>A server that lets one password hash run at a time (Accounts:PasswordHashConcurrency=1).</summary>
public sealed class OneHashAtATimeFixture : IAsyncLifetime
{
    public IdentityHubServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await IdentityHubServer.StartAsync("Sqlite", settings => settings["Accounts:PasswordHashConcurrency"] = "1");

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

/// <summary>
/// Password verifications behind PasswordHashGate, over real HTTP: concurrent sign-ins (right password, wrong password,
/// unknown account) all get their normal answers, and no more hashes than Accounts:PasswordHashConcurrency
/// run at once (the gate's own gauges, read from this server's meters); each verification's CPU time is counted
/// (identityhub.password_hashes.cpu_time, which the benchmark's signin scenario subtracts from the server's CPU).
/// </summary>
public sealed class PasswordHashGateTests(OneHashAtATimeFixture fixture) : IClassFixture<OneHashAtATimeFixture>
{
    private readonly IdentityHubServer _server = fixture.Server;

    [Fact]
    public async Task ConcurrentSignIns_OneHashAtATime_EachGetsItsAnswer_EachHashCpuCounted()
    {
        var meters = _server.Services.GetRequiredService<IMeterFactory>();
        long running = 0, maxRunning = 0, waiting = 0, maxWaiting = 0, cpuMeasurements = 0, cpuNotPositive = 0, cpuUnrecorded = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This server's meters only: other test classes run servers in the same process.
            if (ReferenceEquals(instrument.Meter.Scope, meters)
                && instrument.Name is "identityhub.password_hashes.running" or "identityhub.password_hashes.waiting"
                    or "identityhub.password_hashes.cpu_time" or "identityhub.password_hashes.cpu_time_unrecorded")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "identityhub.password_hashes.running")
            {
                Max(ref maxRunning, Interlocked.Add(ref running, value));
            }
            else if (instrument.Name == "identityhub.password_hashes.cpu_time_unrecorded")
            {
                Interlocked.Add(ref cpuUnrecorded, value);
            }
            else
            {
                Max(ref maxWaiting, Interlocked.Add(ref waiting, value));
            }
        });
        listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            Interlocked.Increment(ref cpuMeasurements);
            if (value <= 0)
            {
                Interlocked.Increment(ref cpuNotPositive);
            }
        });
        listener.Start();

        var users = new List<(string Name, string Password)>();
        for (var i = 0; i < 4; i++)
        {
            var (name, password) = (UniqueNames.User(), UniqueNames.Password());
            await new AdminApiClient(_server).CreateUserAsync(name, password, UniqueNames.Mobile(), "测试市民");
            users.Add((name, password));
        }

        var right = users.Select(u => new LoginForm(_server).SignInAsync(u.Name, u.Password)).ToList();
        var wrong = users.Take(2).Select(u => new LoginForm(_server).SignInAsync(u.Name, UniqueNames.Password())).ToList();
        var unknown = Enumerable.Range(0, 2).Select(_ => new LoginForm(_server).SignInAsync(UniqueNames.User(), UniqueNames.Password())).ToList();
        await Task.WhenAll(right.Concat(wrong).Concat(unknown));

        foreach (var attempt in right.Select(t => t.Result))
        {
            Assert.True(attempt.Status == HttpStatusCode.Redirect && attempt.SessionCookieIssued,
                $"Sign-in refused: {(int)attempt.Status} {attempt.ErrorText}");
        }

        foreach (var attempt in wrong.Concat(unknown).Select(t => t.Result))
        {
            Assert.Equal(HttpStatusCode.OK, attempt.Status);
            Assert.False(attempt.SessionCookieIssued);
            Assert.False(string.IsNullOrWhiteSpace(attempt.ErrorText));
        }

        // Eight verifications at once (the unknown accounts' equal-time hashes among them) ran one by one.
        Assert.Equal(1, Interlocked.Read(ref maxRunning));
        Assert.True(Interlocked.Read(ref maxWaiting) >= 1, "No sign-in ever waited for the gate.");
        Assert.Equal(0, Interlocked.Read(ref running));
        Assert.Equal(0, Interlocked.Read(ref waiting));
        // One CPU time per verification, each a real hash's, where the thread's own clock exists (64-bit Linux, where the
        // tests run); elsewhere every verification is counted as unrecorded instead. Either way none goes uncounted.
        var clock = OperatingSystem.IsLinux() && Environment.Is64BitProcess;
        Assert.Equal(clock ? 8 : 0, Interlocked.Read(ref cpuMeasurements));
        Assert.Equal(clock ? 0 : 8, Interlocked.Read(ref cpuUnrecorded));
        Assert.Equal(0, Interlocked.Read(ref cpuNotPositive));
    }

    private static void Max(ref long max, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref max)) && Interlocked.CompareExchange(ref max, value, seen) != seen)
        {
        }
    }
}
