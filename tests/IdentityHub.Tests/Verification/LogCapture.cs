using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityHub.Tests.Verification;

/// <summary>Keeps every log message (with its exception) a test server writes, at every level.</summary>
public sealed class LogCapture : ILoggerProvider
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            capture.Messages.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}

/// <summary>The server of <see cref="LoggedJourneyTests"/>: everything it logs, down to Trace (OpenIddict as shipped), is kept.</summary>
public sealed class LoggedJourneyFixture : JourneyFixture
{
    public LogCapture Logs { get; } = new();

    protected override Task<Infrastructure.IdentityHubServer> StartServerAsync() =>
        Infrastructure.IdentityHubServer.StartAsync("Sqlite", settings =>
        {
            Simulator.Configure(settings);
            settings["Logging:LogLevel:Default"] = "Trace";
            settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
            settings["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Trace";
            // As shipped: OpenIddict logs whole protocol responses (released claims included) at Information,
            // so appsettings.json keeps it at Warning, and so does this test.
            settings["Logging:LogLevel:OpenIddict"] = "Warning";
        }, services => services.AddSingleton<ILoggerProvider>(Logs));
}

/// <summary>PIPL: the ID number never reaches a log, through the whole journey, even at Trace level.</summary>
public sealed class LoggedJourneyTests(LoggedJourneyFixture fixture) : IClassFixture<LoggedJourneyFixture>
{
    [Fact]
    public async Task Journey_VerifiedAndReleasedInFull_IdNumberInNoLogMessage()
    {
        var (citizen, _, _, idNumber) = await fixture.VerifiedCitizenAsync("柳梦梅");
        var app = await RelyingParty.RegisterAsync(fixture, new { id_number = "full" });
        var tokens = await app.SignInAsync(citizen, "openid identity",
            "{\"userinfo\":{\"verified_claims\":{\"verification\":{},\"claims\":{\"id_number\":null}}}}");
        var userInfo = await app.UserInfoAsync(tokens.Response.AccessToken!);
        Assert.Equal(idNumber, userInfo.GetProperty("verified_claims").GetProperty("claims").GetProperty("id_number").GetString());

        Assert.True(fixture.Logs.Messages.Count > 100, "Too few log messages to be meaningful: " + fixture.Logs.Messages.Count);
        Assert.Contains(fixture.Logs.Messages, m => m.Contains("Verification public-security", StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Logs.Messages, m => m.Contains(idNumber, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(fixture.Logs.Messages, m => m.Contains(idNumber[..17], StringComparison.Ordinal));
    }
}
