using System.Text.Json;
using IdentityHub.Server.Data;
using IdentityHub.Server.Oidc;

namespace IdentityHub.Server.Audit;

/// <summary>
/// <c>dotnet IdentityHub.Server.dll verify-audit [--json]</c>: recomputes every chain; exit 0 when intact, 2 with the
/// findings (the first one first) otherwise. <c>verify-audit --archive DIR</c> checks one archive package alone. <c>dotnet IdentityHub.Server.dll audit-retention</c>: archives and
/// removes everything past retention now. <c>audit-ingest-benchmark</c> measures the group-commit writer (see
/// <see cref="AuditIngestBenchmark"/>). They need only the database settings and the signing certificates.
/// </summary>
public static class AuditCommands
{
    public const string Verify = "verify-audit";
    public const string Retention = "audit-retention";

    public static string? Find(string[] args) => args.FirstOrDefault(a => a is Verify or Retention or AuditIngestBenchmark.Command);

    public static async Task<int> RunAsync(WebApplicationBuilder builder, string command)
    {
        if (command == AuditIngestBenchmark.Command)
        {
            AuditIngestBenchmark.Configure(builder.Configuration);
        }

        builder.AddIdentityHubData();
        var oidc = builder.Configuration.GetSection(OidcOptions.Section).Get<OidcOptions>() ?? new();
        builder.Services.AddSingleton(ServerKeys.Load(oidc, builder.Environment));
        builder.Services.AddIdentityHubAudit();
        await using var app = builder.Build();
        await using var scope = app.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        if (command == AuditIngestBenchmark.Command)
        {
            return await AuditIngestBenchmark.RunAsync(app.Services, builder.Configuration);
        }

        if (command == Verify && builder.Configuration["archive"] is { Length: > 0 } archive)
        {
            var (valid, findings, rows) = await AuditArchiveVerifier.VerifyAsync(Path.GetFullPath(archive), services.GetRequiredService<AuditSigner>());
            foreach (var finding in findings)
            {
                Console.WriteLine(finding);
            }

            Console.WriteLine(valid ? $"Audit archive verified: {rows} rows." : $"Audit archive INVALID: {findings.First(f => !f.StartsWith("warning:", StringComparison.Ordinal))}");
            return valid ? 0 : 2;
        }

        if (command == Verify)
        {
            var report = await services.GetRequiredService<AuditVerification>().VerifyAsync(CancellationToken.None);
            if (Environment.GetCommandLineArgs().Contains("--json"))
            {
                Console.WriteLine(JsonSerializer.Serialize(report, AuditLog.Json));
            }
            else
            {
                Print(report);
            }

            return report.Valid ? 0 : 2;
        }

        var retention = services.GetRequiredService<AuditRetention>();
        var total = 0;
        while (await retention.RunAsync(CancellationToken.None) is { } result)
        {
            Console.WriteLine($"Archived {result.Count} events to {result.Directory}");
            total += result.Count;
        }

        Console.WriteLine($"Audit retention: {total} events archived and removed.");
        return 0;
    }

    private static void Print(AuditVerificationReport report)
    {
        var rows = report.Nodes.Sum(n => n.Rows);
        var summary = $"{rows} rows on {report.Nodes.Count} node(s), {report.Nodes.Sum(n => n.Checkpoints)} signed checkpoint(s), " +
                      $"{report.Nodes.Sum(n => n.ArchivedRanges)} archived range(s)";
        foreach (var finding in report.Findings)
        {
            Console.WriteLine($"{finding.Kind}: node {finding.NodeId} sequence {finding.Sequence} record {finding.RecordId?.ToString() ?? "-"}: {finding.Detail}");
        }

        if (report.LegacyRows > 0)
        {
            Console.WriteLine($"{report.LegacyRows} rows predate the chain and are not chained yet (the server chains them at start).");
        }

        Console.WriteLine(report.Valid
            ? $"Audit chain verified: {summary}."
            : $"Audit chain INVALID: {report.Findings.Count(f => AuditFindingKinds.IsFailure(f.Kind))} finding(s); first: {report.First!.Kind} " +
              $"at node {report.First.NodeId} sequence {report.First.Sequence} ({summary}).");
    }
}
