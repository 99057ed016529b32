namespace IdentityHub.Server.Identity.PersonalData;

/// <summary>
/// Section "PersonalData": the keys that protect sensitive personal information at rest (PIPL article 51:
/// encryption and de-identification). Required outside Development; Development uses fixed, public keys.
/// </summary>
public sealed class PersonalDataOptions
{
    public const string Section = "PersonalData";

    /// <summary>
    /// AES-256-GCM keys, oldest first. The last one encrypts every new value; every listed one still
    /// decrypts what it wrote, so rotation is: append a new key, later re-encrypt and drop the old one.
    /// </summary>
    public List<PersonalDataKey> Keys { get; set; } = [];

    /// <summary>
    /// HMAC-SHA256 key of the blind index (base64, 32 bytes), separate from the encryption keys: lookups
    /// ("is this ID number already bound to an account?") compare keyed hashes, never plaintext. Changing
    /// it means recomputing every index, so it is not rotated with the encryption keys.
    /// </summary>
    public string? BlindIndexKey { get; set; }

    internal static readonly PersonalDataKey DevelopmentKey = new() { Id = "dev1", Key = "ZGV2ZWxvcG1lbnQtb25seS1wZXJzb25hbC1kYXRhLWs=" };

    internal const string DevelopmentBlindIndexKey = "ZGV2ZWxvcG1lbnQtb25seS1ibGluZC1pbmRleC1rZXk=";
}

public sealed class PersonalDataKey
{
    /// <summary>Short identifier written in front of every ciphertext (letters, digits, '-'; at most 16).</summary>
    public string Id { get; set; } = "";

    /// <summary>Base64 of 32 random bytes (openssl rand -base64 32).</summary>
    public string Key { get; set; } = "";
}
