using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Symmetric keys for the tokens that only this server ever reads: authorization codes and refresh tokens
/// (RFC 6749 sections 4.1.2 and 6: opaque to the client). They are signed with HMAC-SHA256 (RFC 7518 section 3.2)
/// and encrypted directly with AES-256-CBC-HMAC-SHA-512 under a 512-bit key (RFC 7518 sections 4.5 "dir" and 5.2.5)
/// instead of an RSA signature and an RSA-OAEP key wrap, which spares two RSA private-key operations on every refresh
/// (decrypting the presented token and signing the new one) and as many on every code. Direct encryption, rather than
/// a per-token content key wrapped with AES key wrap (RFC 7518 section 4.4, "A256KW", used before), also spares the
/// key wrap and unwrap of every token (RFC 3394: 48 AES block operations each for a 512-bit content key, 3% of a refresh's server CPU in
/// IdentityModel's implementation); the IV is random per token, so one key encrypts many tokens safely. Tokens
/// issued with A256KW before keep decrypting with their key-wrap keys, which stay among the decryption keys. ID tokens and access tokens
/// stay signed with the asymmetric key published in JWKS (<see cref="Handlers.ProtectServerOnlyTokens"/>).
/// <para>
/// The keys are derived from each encryption certificate's private key, so that every node holding the same
/// certificates derives the same keys without a new secret to distribute, and rotating the encryption certificate
/// rotates them: HKDF-SHA256 (RFC 5869) over the RSASSA-PKCS1-v1_5 signature (RFC 8017 section 8.2, deterministic)
/// of a fixed label, which only the holder of the private key can compute; one key for signing and another for
/// encryption. The first encryption certificate's keys protect new tokens; the keys of every configured one still
/// validate tokens issued before a rotation. Tokens issued before this scheme (RSA-protected) keep validating with
/// the certificates themselves.
/// </para>
/// </summary>
public sealed class ServerOnlyTokenKeys
{
    private const string Label = "IdentityHub server-only token keys v1";

    private ServerOnlyTokenKeys(SigningCredentials signing, EncryptingCredentials encryption,
        IReadOnlyList<SymmetricSecurityKey> signingKeys, IReadOnlyList<SymmetricSecurityKey> encryptionKeys)
    {
        Signing = signing;
        Encryption = encryption;
        SigningKeys = signingKeys;
        EncryptionKeys = encryptionKeys;
    }

    /// <summary>HS256 with the current key: for new authorization codes and refresh tokens.</summary>
    public SigningCredentials Signing { get; }

    /// <summary>dir + A256CBC-HS512 with the current (512-bit) key.</summary>
    public EncryptingCredentials Encryption { get; }

    /// <summary>Every derived signing key (current first), for validation.</summary>
    public IReadOnlyList<SymmetricSecurityKey> SigningKeys { get; }

    /// <summary>
    /// Every derived decryption key: the direct-encryption keys (current first), then the key-wrap keys of tokens issued
    /// with A256KW before.
    /// </summary>
    public IReadOnlyList<SymmetricSecurityKey> EncryptionKeys { get; }

    public static ServerOnlyTokenKeys Derive(IReadOnlyList<X509Certificate2> encryptionCertificates)
    {
        var signing = new List<SymmetricSecurityKey>();
        var direct = new List<SymmetricSecurityKey>();
        var keyWrap = new List<SymmetricSecurityKey>();
        foreach (var certificate in encryptionCertificates)
        {
            using var rsa = certificate.GetRSAPrivateKey()
                ?? throw new InvalidOperationException($"Encryption certificate {certificate.Subject} has no RSA private key.");
            var secret = rsa.SignData(Encoding.ASCII.GetBytes(Label), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            signing.Add(Key(secret, certificate, "signing", ".hs"));
            // 512 bits: A256CBC-HS512's MAC key and AES-256 key (RFC 7518 section 5.2.5).
            direct.Add(Key(secret, certificate, "direct encryption", ".dir", 64));
            keyWrap.Add(Key(secret, certificate, "encryption", ".kw"));
            CryptographicOperations.ZeroMemory(secret);
        }

        return new ServerOnlyTokenKeys(
            new SigningCredentials(signing[0], SecurityAlgorithms.HmacSha256),
            new EncryptingCredentials(direct[0], "dir" /* RFC 7518 section 4.5 */, SecurityAlgorithms.Aes256CbcHmacSha512),
            signing, [.. direct, .. keyWrap]);
    }

    private static SymmetricSecurityKey Key(byte[] secret, X509Certificate2 certificate, string purpose, string suffix, int length = 32)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, length, salt: certificate.GetCertHash(HashAlgorithmName.SHA256),
            info: Encoding.ASCII.GetBytes(Label + " " + purpose));
        // The kid names the certificate the key comes from (its thumbprint is public), never the key itself.
        return new SymmetricSecurityKey(key) { KeyId = certificate.Thumbprint + suffix };
    }
}
