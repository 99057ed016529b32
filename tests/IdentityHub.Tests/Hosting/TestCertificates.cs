using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace IdentityHub.Tests.Hosting;

/// <summary>Self-signed certificates made by the test and written as password-protected PKCS#12 files.</summary>
internal static class TestCertificates
{
    public sealed record Pfx(string Path, string Password, X509Certificate2 Certificate);

    /// <summary>A TLS server certificate for localhost and 127.0.0.1.</summary>
    public static Pfx CreateTls(string directory)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        return Write(directory, "tls.pfx", request);
    }

    /// <summary>An RSA certificate for signing tokens (RS256).</summary>
    public static Pfx CreateSigning(string directory)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=IdentityHub Test Signing", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        return Write(directory, "signing.pfx", request);
    }

    /// <summary>An ECDSA certificate on <paramref name="curve"/> for signing tokens.</summary>
    public static Pfx CreateSigningEc(string directory, ECCurve curve, string fileName)
    {
        using var ec = ECDsa.Create(curve);
        var request = new CertificateRequest("CN=IdentityHub Test Signing EC", ec, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        return Write(directory, fileName, request);
    }

    /// <summary>An RSA certificate for encrypting the tokens only the server reads.</summary>
    public static Pfx CreateEncryption(string directory)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=IdentityHub Test Encryption", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyEncipherment, critical: true));
        return Write(directory, "encryption.pfx", request);
    }

    private static Pfx Write(string directory, string fileName, CertificateRequest request)
    {
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        var path = System.IO.Path.Combine(directory, fileName);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return new Pfx(path, password, X509CertificateLoader.LoadCertificate(certificate.RawData));
    }
}
