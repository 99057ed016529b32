using QRCoder;

namespace IdentityHub.Server.Factors;

/// <summary>The otpauth:// key URI an authenticator app scans, and its QR code as a PNG data URI.</summary>
public static class TotpKeyUri
{
    public static string Create(string issuer, string accountName, string base32Secret) =>
        $"otpauth://totp/{Uri.EscapeDataString(issuer)}:{Uri.EscapeDataString(accountName)}" +
        $"?secret={base32Secret}&issuer={Uri.EscapeDataString(issuer)}&algorithm=SHA1&digits=6&period=30";

    public static string QrCodeDataUri(string keyUri)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(keyUri, QRCodeGenerator.ECCLevel.M);
        var png = new PngByteQRCode(data).GetGraphic(5);
        return "data:image/png;base64," + Convert.ToBase64String(png);
    }

    /// <summary>The secret in groups of four, easier to type by hand.</summary>
    public static string Grouped(string base32Secret) =>
        string.Join(' ', base32Secret.Chunk(4).Select(c => new string(c)));
}
