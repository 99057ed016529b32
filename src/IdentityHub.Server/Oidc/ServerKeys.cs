using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;
using IdentityHub.Server.Hosting;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// Loads the signing and encryption certificates, and creates development ones on first start. A missing or
/// unreadable certificate is a <see cref="StartupConfigurationException"/>: the server says which and exits with 1.
/// </summary>
public sealed class ServerKeys
{
    public const string DevelopmentPassword = "identityhub-dev";

    private ServerKeys(IReadOnlyList<X509Certificate2> signing, IReadOnlyList<X509Certificate2> encryption, bool defaultIsEc)
    {
        Signing = signing;
        Encryption = encryption;
        DefaultSigning = signing.Where(c => IsEc(c) == defaultIsEc).ToList();
    }

    /// <summary>Every configured signing certificate, of every algorithm: all sign the tokens of their algorithm and are published.</summary>
    public IReadOnlyList<X509Certificate2> Signing { get; }

    /// <summary>The signing certificates of the default algorithm (Oidc:SigningAlgorithm): at least one.</summary>
    public IReadOnlyList<X509Certificate2> DefaultSigning { get; }

    public IReadOnlyList<X509Certificate2> Encryption { get; }

    /// <summary>
    /// The signing credentials, RS256 for RSA certificates and ES256 for ECDSA P-256 ones, of every algorithm (clients may
    /// register either: <see cref="TokenSigning"/>, which also picks the key of an algorithm among them).
    /// OpenIddict infers the algorithm of a certificate key for RSA only (an X509SecurityKey never
    /// supports ES256 in Microsoft.IdentityModel, so AddSigningCertificate refused EC certificates at
    /// startup): EC keys are passed as ECDsaSecurityKey, with the certificate thumbprint as kid as
    /// OpenIddict does for certificates. OpenIddict orders only X509 keys by validity, so EC keys are
    /// ordered here the same way: valid now before not yet valid, then the one expiring last first.
    /// </summary>
    public IEnumerable<SigningCredentials> SigningCredentials()
    {
        var now = DateTime.Now;
        foreach (var certificate in Signing.OrderBy(c => c.NotBefore > now).ThenByDescending(c => c.NotAfter))
        {
            // An EC key is P-256 here: LoadSigningCertificate refused any other curve at start-up.
            if (certificate.GetECDsaPrivateKey() is { } ec)
            {
                var key = new ECDsaSecurityKey(ec) { KeyId = certificate.Thumbprint };
                yield return new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256);
            }
            else
            {
                yield return new SigningCredentials(new X509SecurityKey(certificate), SecurityAlgorithms.RsaSha256);
            }
        }
    }

    public static ServerKeys Load(OidcOptions options, IHostEnvironment environment)
    {
        var signingConfig = options.SigningCertificates;
        var encryptionConfig = options.EncryptionCertificates;

        if (environment.IsDevelopment() && signingConfig.Count == 0 && encryptionConfig.Count == 0)
        {
            var directory = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.DevelopmentCertificateDirectory));
            Directory.CreateDirectory(directory);
            signingConfig =
            [
                EnsureDevelopmentCertificate(directory, "signing-rsa.pfx", CertificateKind.SigningRsa),
                EnsureDevelopmentCertificate(directory, "signing-ec.pfx", CertificateKind.SigningEc),
            ];
            encryptionConfig = [EnsureDevelopmentCertificate(directory, "encryption-rsa.pfx", CertificateKind.EncryptionRsa)];
        }

        // Every signing certificate is loaded, whatever its algorithm: the default algorithm's sign unless a client
        // registered the other (TokenSigning); all are published in JWKS. At least one must be of the default algorithm.
        var wantEc = string.Equals(options.SigningAlgorithm, "ES256", StringComparison.OrdinalIgnoreCase);
        var signing = signingConfig.Select(c => LoadSigningCertificate(c, environment)).ToList();
        var encryption = encryptionConfig.Select(c => LoadCertificate(c, environment)).ToList();

        if (!signing.Any(c => IsEc(c) == wantEc))
        {
            throw new StartupConfigurationException(
                $"No signing certificate for {options.SigningAlgorithm}: configure Oidc:SigningCertificates " +
                $"(Path and Password of a PKCS#12 file holding an {(wantEc ? "ECDSA P-256" : "RSA")} key).");
        }

        if (encryption.Count == 0)
        {
            throw new StartupConfigurationException(
                "No encryption certificate: configure Oidc:EncryptionCertificates (Path and Password of a PKCS#12 file holding an RSA key).");
        }

        return new ServerKeys(signing, encryption, wantEc);
    }

    private static bool IsEc(X509Certificate2 certificate) => certificate.GetKeyAlgorithm() == "1.2.840.10045.2.1" /* id-ecPublicKey, RFC 5480 */;

    /// <summary>
    /// A signing certificate: RSA (RS256) or ECDSA P-256 (ES256, RFC 7518 section 3.4). Every one is loaded and may sign
    /// (clients register either algorithm), so any other key is refused here, whatever the default algorithm.
    /// </summary>
    private static X509Certificate2 LoadSigningCertificate(CertificateOptions options, IHostEnvironment environment)
    {
        var certificate = LoadCertificate(options, environment);
        using var rsa = certificate.GetRSAPublicKey();
        using var ec = certificate.GetECDsaPublicKey();
        var curve = ec?.ExportParameters(false).Curve.Oid;
        var p256 = curve?.Value == "1.2.840.10045.3.1.7" /* secp256r1, RFC 5480 */ || curve?.FriendlyName is "nistP256" or "ECDSA_P256";
        if (rsa is null && !p256)
        {
            throw new StartupConfigurationException(
                $"Signing certificate {Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Path!))}: neither RSA (RS256) nor ECDSA P-256 (ES256).");
        }

        return certificate;
    }

    private static X509Certificate2 LoadCertificate(CertificateOptions options, IHostEnvironment environment)
    {
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            throw new StartupConfigurationException("A configured certificate has no Path.");
        }

        var path = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Path));
        if (!File.Exists(path))
        {
            throw new StartupConfigurationException($"Certificate file not found: {path}");
        }

        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, options.Password, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException e)
        {
            throw new StartupConfigurationException($"Certificate {path} cannot be opened (wrong password or not PKCS#12): {e.Message}");
        }
    }

    private enum CertificateKind
    {
        SigningRsa,
        SigningEc,
        EncryptionRsa,
    }

    private static CertificateOptions EnsureDevelopmentCertificate(string directory, string fileName, CertificateKind kind)
    {
        var path = Path.Combine(directory, fileName);
        if (!File.Exists(path))
        {
            var bytes = CreateDevelopmentCertificate(kind);
            // Write then move, so that two servers starting at once never read a half-written file.
            var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllBytes(temporary, bytes);
            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary);
            }
        }

        return new CertificateOptions { Path = path, Password = DevelopmentPassword };
    }

    private static byte[] CreateDevelopmentCertificate(CertificateKind kind)
    {
        var subject = new X500DistinguishedName(kind switch
        {
            CertificateKind.SigningRsa => "CN=IdentityHub Development Signing RS256",
            CertificateKind.SigningEc => "CN=IdentityHub Development Signing ES256",
            _ => "CN=IdentityHub Development Encryption",
        });
        var usage = kind == CertificateKind.EncryptionRsa ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.DigitalSignature;
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = DateTimeOffset.UtcNow.AddYears(2);

        if (kind == CertificateKind.SigningEc)
        {
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, ec, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
            using var certificate = request.CreateSelfSigned(notBefore, notAfter);
            return certificate.Export(X509ContentType.Pfx, DevelopmentPassword);
        }

        using var rsa = RSA.Create(2048);
        var rsaRequest = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        rsaRequest.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        using var rsaCertificate = rsaRequest.CreateSelfSigned(notBefore, notAfter);
        return rsaCertificate.Export(X509ContentType.Pfx, DevelopmentPassword);
    }
}
