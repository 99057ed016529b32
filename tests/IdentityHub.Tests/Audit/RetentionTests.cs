using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using IdentityHub.Server.Audit;
using IdentityHub.Tests.Registry;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// Retention (the audit-retention command, a separate process): events past their class's retention are archived
/// (events.jsonl, a manifest with counts, digests and chain anchors, its signature), then removed; the removal is
/// itself an event; the chain still verifies across the gap, and a deletion outside retention still shows.
/// </summary>
public sealed class RetentionTests
{
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task Retention_SignInsPastRetention_ArchivedThenRemovedAndTheChainStillVerifies(string provider)
    {
        // Sign-ins are kept for no time at all; every other class keeps its default (years).
        var fixture = await AuditFixture.StartAsync(provider, settings => settings["Audit:Retention:signin"] = "00:00:00");
        try
        {
            var citizen = await fixture.NewCitizenAsync();
            for (var i = 0; i < 3; i++)
            {
                await fixture.SignInAsync(new CookieContainer(), citizen.UserName, "Wrong-Passw0rd");
            }

            var signIns = (await fixture.EventsAsync($"userId={citizen.Id}&type=signin")).Select(e => e.GetProperty("hash").GetString()).ToList();
            Assert.Equal(3, signIns.Count);
            var db = new AuditDatabase(fixture.Server.Database);

            var (exitCode, output) = await db.RunCommandAsync("audit-retention",
                new Dictionary<string, string> { ["Audit__Retention__signin"] = "00:00:00" });

            Assert.True(exitCode == 0, output);
            Assert.Contains("events archived and removed", output, StringComparison.Ordinal);
            Assert.Empty(await fixture.EventsAsync($"userId={citizen.Id}&type=signin"));
            Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=account.created"));

            var archived = Assert.Single(await fixture.EventsAsync("type=audit.archived"));
            using var summary = JsonDocument.Parse(archived.GetProperty("data").GetString()!);
            var archiveId = summary.RootElement.GetProperty("archiveId").GetString()!;
            var directory = Path.Combine(fixture.Server.Database.DataDirectory, "audit-archive", archiveId);
            var lines = File.ReadAllLines(Path.Combine(directory, "events.jsonl"));
            var archivedRows = lines.Select(l => JsonSerializer.Deserialize<AuditEvent>(l, JsonSerializerOptions.Web)!).ToList();
            Assert.Equal(summary.RootElement.GetProperty("count").GetInt32(), lines.Length);
            Assert.All(archivedRows, r => Assert.Equal("signin", r.Category));
            Assert.All(archivedRows, r => Assert.Equal(r.Hash, AuditHash.Compute(r)));
            Assert.Subset(archivedRows.Select(r => r.Hash).ToHashSet(), signIns.ToHashSet());

            var manifestBytes = await File.ReadAllBytesAsync(Path.Combine(directory, "manifest.json"));
            using var manifest = JsonDocument.Parse(manifestBytes);
            Assert.Equal(summary.RootElement.GetProperty("manifestSha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(manifestBytes)));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(directory, "events.jsonl")))),
                manifest.RootElement.GetProperty("events").GetProperty("sha256").GetString());
            Assert.NotEmpty(manifest.RootElement.GetProperty("hashChain").GetProperty("anchors").EnumerateArray());
            using var signature = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(directory, "manifest.sig.json")));
            using var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(signature.RootElement.GetProperty("certificate").GetString()!));
            using var key = certificate.GetRSAPublicKey()!;
            Assert.True(key.VerifyData(manifestBytes, Convert.FromBase64String(signature.RootElement.GetProperty("signature").GetString()!),
                HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

            var report = await fixture.VerifyAsync();
            Assert.True(report.GetProperty("valid").GetBoolean(), report.GetRawText());
            (exitCode, output) = await db.RunCommandAsync("verify-audit");
            Assert.True(exitCode == 0, output);
            Assert.Contains("archived range(s)", output, StringComparison.Ordinal);

            // The package checks out on its own; a changed archived row does not.
            (exitCode, output) = await db.RunCommandAsync("verify-audit", new Dictionary<string, string> { ["archive"] = directory });
            Assert.True(exitCode == 0, output);
            Assert.Contains($"Audit archive verified: {lines.Length} rows.", output, StringComparison.Ordinal);
            await File.WriteAllLinesAsync(Path.Combine(directory, "events.jsonl"), lines.Select(l => l.Replace("\"ipAddress\":\"10.0.0.1\"",
                "\"ipAddress\":\"6.6.6.6\"", StringComparison.Ordinal)));
            (exitCode, output) = await db.RunCommandAsync("verify-audit", new Dictionary<string, string> { ["archive"] = directory });
            Assert.True(exitCode == 2, output);
            Assert.Contains("does not match its hash", output, StringComparison.Ordinal);

            // Removing a row outside retention is still a deletion.
            var created = Assert.Single(await fixture.EventsAsync($"userId={citizen.Id}&type=account.created")).GetProperty("id").GetInt64();
            await db.ExecuteAsync("DELETE FROM \"AuditEvents\" WHERE \"Id\" = @id", ("@id", created));
            report = await fixture.VerifyAsync();
            Assert.False(report.GetProperty("valid").GetBoolean());
            Assert.Equal(AuditFindingKinds.Deleted, report.GetProperty("findings")[0].GetProperty("kind").GetString());
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}
