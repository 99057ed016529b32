using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using IdentityHub.Server.Oidc;

namespace IdentityHub.Server.Audit;

/// <summary>Signature over some bytes with one of the server's signing certificates.</summary>
public sealed record AuditSignature(string KeyId, string Algorithm, string Value);

/// <summary>
/// Signs checkpoints and archive manifests with the server's token signing key (the certificate that currently
/// signs tokens by default: RS256 or ES256, Oidc:SigningAlgorithm), and verifies them with any configured signing certificate, so that a key
/// rotation keeps older checkpoints verifiable while the old certificate stays configured.
/// </summary>
public sealed class AuditSigner(ServerKeys keys)
{
    public static byte[] CheckpointPayload(string nodeId, long sequence, string hash) =>
        Encoding.UTF8.GetBytes(string.Join('\n', "ih-audit-checkpoint-v1", nodeId, sequence.ToString(CultureInfo.InvariantCulture), hash));

    /// <summary>The checkpoint row's Data: the chain position it vouches for, and the signature.</summary>
    public string SignCheckpoint(string nodeId, long sequence, string hash)
    {
        var signature = Sign(CheckpointPayload(nodeId, sequence, hash));
        return JsonSerializer.Serialize(new CheckpointData(sequence, hash, signature.KeyId, signature.Algorithm, signature.Value));
    }

    public AuditSignature Sign(byte[] payload)
    {
        var now = DateTime.Now;
        var certificate = keys.DefaultSigning.OrderBy(c => c.NotBefore > now).ThenByDescending(c => c.NotAfter).First();
        if (certificate.GetECDsaPrivateKey() is { } ec)
        {
            using (ec)
            {
                return new(certificate.Thumbprint, "ES256", Convert.ToBase64String(ec.SignData(payload, HashAlgorithmName.SHA256)));
            }
        }

        using var rsa = certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException("The signing certificate has no private key.");
        return new(certificate.Thumbprint, "RS256", Convert.ToBase64String(rsa.SignData(payload, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)));
    }

    /// <summary>True or false; null when no configured certificate has that key id.</summary>
    public bool? Verify(byte[] payload, AuditSignature signature)
    {
        var certificate = keys.Signing.FirstOrDefault(c => string.Equals(c.Thumbprint, signature.KeyId, StringComparison.OrdinalIgnoreCase));
        if (certificate is null)
        {
            return null;
        }

        byte[] value;
        try
        {
            value = Convert.FromBase64String(signature.Value);
        }
        catch (FormatException)
        {
            return false;
        }

        return signature.Algorithm switch
        {
            "ES256" => certificate.GetECDsaPublicKey() is { } ec && ec.VerifyData(payload, value, HashAlgorithmName.SHA256),
            "RS256" => certificate.GetRSAPublicKey() is { } rsa && rsa.VerifyData(payload, value, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => false,
        };
    }

    /// <summary>The public certificate of a key id (DER, base64), to ship with an archive.</summary>
    public string? PublicCertificate(string keyId) =>
        keys.Signing.FirstOrDefault(c => c.Thumbprint == keyId) is { } certificate ? Convert.ToBase64String(certificate.Export(X509ContentType.Cert)) : null;
}

/// <summary>JSON of a checkpoint row's Data.</summary>
public sealed record CheckpointData(long Sequence, string Hash, string KeyId, string Algorithm, string Signature)
{
    public static CheckpointData? Parse(string? json)
    {
        try
        {
            return json is null ? null : JsonSerializer.Deserialize<CheckpointData>(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
