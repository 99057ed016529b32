using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Identity.PersonalData;

/// <summary>
/// Encrypts sensitive personal information (ID numbers) at rest and computes its blind index.
/// Format: "ih1.{keyId}.{base64url(nonce | ciphertext | tag)}", AES-256-GCM with a 96-bit random nonce
/// (NIST SP 800-38D section 8.2.2) and the column's purpose as associated data, so that a value copied
/// into another column does not decrypt. The blind index is HMAC-SHA256 under its own key.
/// </summary>
public sealed class PersonalDataProtector
{
    private const string Version = "ih1";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly Dictionary<string, byte[]> _keys;
    private readonly string _currentKeyId;
    private readonly byte[] _indexKey;

    public PersonalDataProtector(IOptions<PersonalDataOptions> options)
    {
        var settings = options.Value;
        var keys = settings.Keys.Count > 0 ? settings.Keys : [PersonalDataOptions.DevelopmentKey];
        _keys = keys.ToDictionary(k => k.Id, k => Convert.FromBase64String(k.Key), StringComparer.Ordinal);
        _currentKeyId = keys[^1].Id;
        _indexKey = Convert.FromBase64String(settings.BlindIndexKey ?? PersonalDataOptions.DevelopmentBlindIndexKey);
    }

    public string CurrentKeyId => _currentKeyId;

    public string Protect(string plaintext, string purpose)
    {
        var key = _keys[_currentKeyId];
        var data = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceSize + data.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, data, output.AsSpan(NonceSize, data.Length), output.AsSpan(NonceSize + data.Length), Encoding.UTF8.GetBytes(purpose));
        return $"{Version}.{_currentKeyId}.{Base64Url.EncodeToString(output)}";
    }

    /// <summary>Decrypts with whichever configured key wrote the value. Throws if the key is gone or the value was tampered with.</summary>
    public string Unprotect(string protectedValue, string purpose)
    {
        var parts = protectedValue.Split('.');
        if (parts.Length != 3 || parts[0] != Version || !_keys.TryGetValue(parts[1], out var key))
        {
            throw new CryptographicException("The value was not protected with a configured personal data key.");
        }

        var input = Base64Url.DecodeFromChars(parts[2]);
        var length = input.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(input.AsSpan(0, NonceSize), input.AsSpan(NonceSize, length), input.AsSpan(NonceSize + length), plaintext, Encoding.UTF8.GetBytes(purpose));
        return Encoding.UTF8.GetString(plaintext);
    }

    /// <summary>The key id a protected value was written with (to find values a rotation must re-encrypt).</summary>
    public static string? KeyIdOf(string protectedValue) => protectedValue.Split('.') is [Version, var id, _] ? id : null;

    /// <summary>Keyed hash for equality lookups; the purpose separates indexes of different kinds of data.</summary>
    public string BlindIndex(string normalized, string purpose) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_indexKey, Encoding.UTF8.GetBytes(purpose + "\n" + normalized)));
}
