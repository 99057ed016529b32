using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace IdentityHub.Server.Audit;

/// <summary>
/// Checks an archive package on its own (<c>verify-audit --archive DIR</c>): the manifest's signature (by its
/// certificate, which must be one of the configured signing certificates), the digest of events.jsonl, every
/// archived row's hash, and that the rows form exactly the anchored ranges the manifest names (the anchors the
/// live chain's gaps are bridged with).
/// </summary>
public static class AuditArchiveVerifier
{
    public static async Task<(bool Valid, IReadOnlyList<string> Findings, int Rows)> VerifyAsync(string directory, AuditSigner signer)
    {
        var findings = new List<string>();
        var manifestPath = Path.Combine(directory, "manifest.json");
        var eventsPath = Path.Combine(directory, "events.jsonl");
        if (!File.Exists(manifestPath) || !File.Exists(eventsPath) || !File.Exists(manifestPath[..^5] + ".sig.json"))
        {
            return (false, ["manifest.json, manifest.sig.json or events.jsonl is missing"], 0);
        }

        var manifestBytes = await File.ReadAllBytesAsync(manifestPath);
        using var signature = JsonDocument.Parse(await File.ReadAllBytesAsync(manifestPath[..^5] + ".sig.json"));
        var signed = new AuditSignature(signature.RootElement.GetProperty("keyId").GetString() ?? "",
            signature.RootElement.GetProperty("algorithm").GetString() ?? "", signature.RootElement.GetProperty("signature").GetString() ?? "");
        switch (signer.Verify(manifestBytes, signed))
        {
            case false:
                findings.Add("the manifest's signature does not verify: the manifest was changed");
                break;
            case null when !VerifiesWithOwnCertificate(manifestBytes, signed, signature.RootElement):
                findings.Add("the manifest's signature does not verify with the certificate it names");
                break;
            case null:
                findings.Add("warning: signed by a certificate that is not configured here (" + signed.KeyId + ")");
                break;
        }

        using var manifest = JsonDocument.Parse(manifestBytes);
        var eventsDigest = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(eventsPath)));
        if (eventsDigest != manifest.RootElement.GetProperty("events").GetProperty("sha256").GetString())
        {
            findings.Add("events.jsonl does not match the digest in the manifest");
        }

        var rows = new List<AuditEvent>();
        foreach (var line in await File.ReadAllLinesAsync(eventsPath))
        {
            var row = JsonSerializer.Deserialize<AuditEvent>(line, AuditLog.Json)!;
            if (AuditHash.Compute(row) != row.Hash)
            {
                findings.Add($"row {row.Id} (node {row.NodeId} sequence {row.Sequence}) does not match its hash");
            }

            rows.Add(row);
        }

        var anchors = manifest.RootElement.GetProperty("hashChain").GetProperty("anchors").Deserialize<List<AuditArchiveGap>>(AuditLog.Json) ?? [];
        foreach (var anchor in anchors)
        {
            var run = rows.Where(r => r.NodeId == anchor.NodeId && r.Sequence >= anchor.FirstSequence && r.Sequence <= anchor.LastSequence)
                .OrderBy(r => r.Sequence).ToList();
            var linked = run.Count == anchor.Count && run.Count > 0 && run[0].PreviousHash == anchor.PreviousHash && run[^1].Hash == anchor.LastHash
                         && run.Zip(run.Skip(1)).All(pair => pair.Second.PreviousHash == pair.First.Hash);
            if (!linked)
            {
                findings.Add($"node {anchor.NodeId} sequences {anchor.FirstSequence}..{anchor.LastSequence}: the rows do not form the anchored range");
            }
        }

        if (rows.Count != manifest.RootElement.GetProperty("count").GetInt32() || anchors.Sum(a => a.Count) != rows.Count)
        {
            findings.Add("the number of rows differs from the manifest's count");
        }

        return (!findings.Any(f => !f.StartsWith("warning:", StringComparison.Ordinal)), findings, rows.Count);
    }

    private static bool VerifiesWithOwnCertificate(byte[] payload, AuditSignature signature, JsonElement signatureJson)
    {
        if (signatureJson.TryGetProperty("certificate", out var der) && der.GetString() is { } base64)
        {
            using var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(base64));
            var value = Convert.FromBase64String(signature.Value);
            return certificate.Thumbprint == signature.KeyId && signature.Algorithm switch
            {
                "ES256" => certificate.GetECDsaPublicKey() is { } ec && ec.VerifyData(payload, value, HashAlgorithmName.SHA256),
                "RS256" => certificate.GetRSAPublicKey() is { } rsa && rsa.VerifyData(payload, value, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                _ => false,
            };
        }

        return false;
    }
}
