using Duende.IdentityModel.Client;
using IdentityHub.Server.Audit;
using IdentityHub.Tests.Registry;
using IdentityHub.Tests.Verification;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// The group commit's loop dying (a bug, not a failed batch, which the loop answers itself) must not leave requests waiting
/// forever on a queue nobody reads: it logs Critical, fails the writes it held, and every later write commits inline,
/// so tokens are issued again and the chain verifies. The fault is injected through the writer's options: the loop reads
/// them for each batch and each checkpoint tick, nothing else of the writer does.
/// </summary>
public sealed class GroupCommitLoopTests
{
    [Fact]
    public async Task LoopDies_PendingWritesFail_LaterWritesCommitInline_ChainVerifies()
    {
        var logs = new LogCapture();
        var fixture = await AuditFixture.StartAsync("Sqlite", services: services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            services.AddSingleton<FailingOnceOptions>();
            services.AddSingleton(provider =>
                ActivatorUtilities.CreateInstance<AuditWriter>(provider, provider.GetRequiredService<FailingOnceOptions>()));
        });
        try
        {
            using var http = fixture.Server.CreateHttpClient();
            // A write the dead loop never answers fails the test through HttpClient's own 100 s timeout (a hang guard, not a
            // timing: with the loop's death unhandled this test failed so, at the token after Arm).
            var (clientId, tokenAsync) = await fixture.NewMachineClientAsync(http);

            var first = await tokenAsync();
            Assert.False(first.IsError, first.Error);
            Assert.DoesNotContain(logs.Messages, m => m.StartsWith("Critical", StringComparison.Ordinal));

            // The loop's next read of its options throws: at this token's batch, or at a checkpoint tick before it (then
            // this token already commits inline). Either way the request is answered.
            fixture.Server.Services.GetRequiredService<FailingOnceOptions>().Arm();
            var during = await tokenAsync();
            Assert.Contains(logs.Messages, m => m.StartsWith("Critical IdentityHub.Server.Audit.AuditWriter: The audit group commit stopped",
                StringComparison.Ordinal));

            var after = new[] { await tokenAsync(), await tokenAsync() };
            Assert.All(after, response => Assert.False(response.IsError, response.Error));

            var report = await fixture.VerifyAsync();
            Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());
            // Every answered token is recorded, the refused one (if its batch was the one the loop died on) is not.
            var issued = await fixture.EventsAsync("client=" + clientId + "&type=token.issued");
            Assert.Equal(during.IsError ? 3 : 4, issued.Count);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    /// <summary>The server's audit options, throwing once when armed.</summary>
    private sealed class FailingOnceOptions(IOptions<AuditOptions> options) : IOptions<AuditOptions>
    {
        private int _armed;

        public void Arm() => Volatile.Write(ref _armed, 1);

        public AuditOptions Value => Interlocked.Exchange(ref _armed, 0) == 1
            ? throw new InvalidOperationException("Injected: the group commit's loop fails.")
            : options.Value;
    }
}
