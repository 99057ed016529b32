using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The tokens of the code and refresh grants' fast paths (<see cref="SignInTokens.CreateToken"/>), written directly: byte for
/// byte the JWS that <see cref="JsonWebTokenHandler.CreateToken(SecurityTokenDescriptor)"/> writes for the descriptor
/// SignInTokens gives it (its subject, the claims of the token's principal that AttachTokenSubject keeps; its claims, the
/// metadata AttachTokenMetadata adds; issuer, issued-at and expiry), without cloning the principal, building the descriptor
/// or the handler's per-token header, dictionaries and streams. The payload follows the handler's order and rules
/// (iss, exp, iat; then the descriptor's claims; then the subject's claims by type in order of first appearance, a repeated
/// type as an array, skipping the types written already; each value by its claim value type as the handler converts it);
/// the header is the handler's own for the credentials and type (<see cref="FastJwtWriter.Header"/>); the signature is the
/// credentials' provider's (<see cref="FastJwtWriter.Sign"/>). A server-only token (refresh token, authorization code) is
/// then encrypted as the handler encrypts it for this server's credentials: JWE compact serialisation (RFC 7516 section
/// 7.1) with "dir" (RFC 7518 section 4.5, no encrypted key) and A256CBC-HS512 (RFC 7518 section 5.2.5: AES-256-CBC with
/// PKCS #7 padding under the key's last 32 octets, a random 128-bit IV, the tag the first 32 octets of HMAC-SHA-512 under
/// its first 32 octets over AAD || IV || ciphertext || AL, section 5.2.2.1), the protected header the handler's own.
/// Anything it does not reproduce exactly (a claim of a value type it does not convert, a principal of several identities,
/// other encryption) returns null: the caller then asks the handler. Pinned by SignInJwtWriterTests against the handler.
/// </summary>
internal static class SignInJwtWriter
{
    private static readonly JsonWriterOptions PayloadOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The handler's headers (base64url, ASCII) per credentials and token type: a JWS header, or a JWE one.</summary>
    private static readonly ConditionalWeakTable<object, Dictionary<string, byte[]>> Headers = new();

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_payload;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;
    [ThreadStatic] private static List<(string Type, int First, int Count)>? t_groups;
    [ThreadStatic] private static List<Claim>? t_claims;
    [ThreadStatic] private static Aes? t_aes;
    [ThreadStatic] private static byte[]? t_aesKey;

    /// <summary>
    /// The token, or null when it is not written here: <paramref name="token"/> says what goes in (AttachTokenSubject's
    /// filter, the descriptor's claims in their order, the type, the issuer and the dates).
    /// </summary>
    public static string? TryCreate(JsonWebTokenHandler handler, ClaimsPrincipal principal, SignInTokens.TokenDescription token,
        SigningCredentials signing, EncryptingCredentials? encryption)
    {
        var (inSubject, metadata, jwtType, issuer, issuedAt, expires) = token;
        if (handler.SetDefaultTimesOnTokenCreation || principal.Identities.Count() != 1 || principal.Identities.First() is not { } identity
            || (encryption is not null && !IsDirectAes256CbcHmacSha512(encryption)))
        {
            return null;
        }

        var payload = t_payload ??= new ArrayBufferWriter<byte>(2048);
        payload.ResetWrittenCount();
        var json = t_writer ??= new Utf8JsonWriter(payload, PayloadOptions);
        json.Reset(payload);
        try
        {
            if (!WritePayload(json, identity, inSubject, metadata, issuer, issuedAt, expires))
            {
                return null;
            }

            json.Flush();
        }
        finally
        {
            json.Reset(Stream.Null);
        }

        var jws = FastJwtWriter.Sign(Header(handler, signing, jwtType, null), payload.WrittenSpan, signing);
        if (payload.Capacity > 64 * 1024)
        {
            t_payload = null;
        }

        return encryption is null ? jws : Encrypt(Header(handler, signing, jwtType, encryption), jws, ((SymmetricSecurityKey)encryption.Key).Key);
    }

    private static bool WritePayload(Utf8JsonWriter json, ClaimsIdentity identity, Func<Claim, bool> inSubject,
        IReadOnlyDictionary<string, object> metadata, string? issuer, DateTimeOffset? issuedAt, DateTimeOffset? expires)
    {
        json.WriteStartObject();
        var issuerSet = !string.IsNullOrEmpty(issuer);
        if (issuerSet)
        {
            json.WriteString(JwtRegisteredClaimNames.Iss, issuer);
        }

        if (expires is { } exp)
        {
            json.WriteNumber(JwtRegisteredClaimNames.Exp, EpochTime.GetIntDate(exp.UtcDateTime));
        }

        if (issuedAt is { } iat)
        {
            json.WriteNumber(JwtRegisteredClaimNames.Iat, EpochTime.GetIntDate(iat.UtcDateTime));
        }

        // The descriptor's claims: the handler skips those the properties above wrote already (none of SignInTokens' names).
        var audienceSet = false;
        foreach (var (name, value) in metadata)
        {
            if (name is JwtRegisteredClaimNames.Iss or JwtRegisteredClaimNames.Exp or JwtRegisteredClaimNames.Iat or JwtRegisteredClaimNames.Nbf
                || !WriteObject(json, name, value))
            {
                return false;
            }

            audienceSet |= name == JwtRegisteredClaimNames.Aud;
        }

        // The subject's claims, grouped by type in order of first appearance (the handler's Dictionary<string, object>).
        var claims = t_claims ??= new List<Claim>(32);
        var groups = t_groups ??= new List<(string Type, int First, int Count)>(32);
        claims.Clear();
        groups.Clear();
        try
        {
            foreach (var claim in identity.Claims)
            {
                if (claim is null || !inSubject(claim) || metadata.ContainsKey(claim.Type)
                    || (audienceSet && claim.Type == JwtRegisteredClaimNames.Aud) || (issuerSet && claim.Type == JwtRegisteredClaimNames.Iss)
                    || (expires is not null && claim.Type == JwtRegisteredClaimNames.Exp)
                    || (issuedAt is not null && claim.Type == JwtRegisteredClaimNames.Iat))
                {
                    continue;
                }

                claims.Add(claim);
            }

            // Stable grouping without a dictionary: a token has a few dozen claims at most.
            var used = 0;
            for (var i = 0; i < claims.Count; i++)
            {
                var index = groups.FindIndex(g => g.Type == claims[i].Type);
                if (index < 0)
                {
                    groups.Add((claims[i].Type, i, 1));
                }
                else
                {
                    groups[index] = groups[index] with { Count = groups[index].Count + 1 };
                }
            }

            foreach (var (type, first, count) in groups)
            {
                json.WritePropertyName(type);
                if (count > 1)
                {
                    json.WriteStartArray();
                }

                for (int i = first, left = count; left > 0; i++)
                {
                    if (claims[i].Type != type)
                    {
                        continue;
                    }

                    left--;
                    if (!WriteClaimValue(json, claims[i]))
                    {
                        return false;
                    }
                }

                if (count > 1)
                {
                    json.WriteEndArray();
                }

                used += count;
            }

            json.WriteEndObject();
            return used == claims.Count;
        }
        finally
        {
            claims.Clear();
            groups.Clear();
        }
    }

    /// <summary>A subject claim's value as the handler converts it (TokenUtilities.GetClaimValueUsingValueType); false for a type it does not take here.</summary>
    private static bool WriteClaimValue(Utf8JsonWriter json, Claim claim)
    {
        var value = claim.Value;
        switch (claim.ValueType)
        {
            case ClaimValueTypes.String:
                json.WriteStringValue(value);
                return true;
            case ClaimValueTypes.Boolean when bool.TryParse(value, out var boolean):
                json.WriteBooleanValue(boolean);
                return true;
            case ClaimValueTypes.Integer or ClaimValueTypes.Integer32
                when int.TryParse(value, NumberStyles.Any, CultureInfo.InvariantCulture, out var integer):
                json.WriteNumberValue(integer);
                return true;
            case ClaimValueTypes.Integer64 when long.TryParse(value, out var integer64):
                json.WriteNumberValue(integer64);
                return true;
            case ClaimValueTypes.Double or ClaimValueTypes.DateTime:
                // Doubles and dates (their formatting): the handler.
                return false;
            case JsonClaimValueTypes.Json or JsonClaimValueTypes.JsonArray:
                try
                {
                    using (var document = JsonDocument.Parse(value))
                    {
                        document.RootElement.WriteTo(json);
                    }

                    return true;
                }
                catch (JsonException)
                {
                    return false;
                }
            case JsonClaimValueTypes.JsonNull:
                json.WriteStringValue(string.Empty);
                return true;
            default:
                // Booleans and integers that do not parse, and every other value type: the claim's string, as the handler.
                json.WriteStringValue(value);
                return true;
        }
    }

    /// <summary>A descriptor claim as the handler writes it (JsonPrimitives.WriteObject) for the values SignInTokens gives it.</summary>
    private static bool WriteObject(Utf8JsonWriter json, string name, object value)
    {
        switch (value)
        {
            case string text:
                json.WriteString(name, text);
                return true;
            case string[] texts:
                json.WriteStartArray(name);
                foreach (var text in texts)
                {
                    json.WriteStringValue(text);
                }

                json.WriteEndArray();
                return true;
            case ImmutableDictionary<string, ImmutableArray<string>> map:
                json.WriteStartObject(name);
                foreach (var (key, values) in map)
                {
                    json.WriteStartArray(key);
                    foreach (var text in values)
                    {
                        json.WriteStringValue(text);
                    }

                    json.WriteEndArray();
                }

                json.WriteEndObject();
                return true;
            default:
                return false;
        }
    }

    private static bool IsDirectAes256CbcHmacSha512(EncryptingCredentials encryption) =>
        encryption.Alg == "dir" && encryption.Enc == SecurityAlgorithms.Aes256CbcHmacSha512
        && encryption.Key is SymmetricSecurityKey { Key.Length: 64 } && encryption.CryptoProviderFactory is null or { CustomCryptoProvider: null }
        && encryption.Key.CryptoProviderFactory is null or { CustomCryptoProvider: null };

    /// <summary>The handler's protected header for a JWS (encryption null) or the JWE around it: the first part of a token it creates.</summary>
    private static byte[] Header(JsonWebTokenHandler handler, SigningCredentials signing, string jwtType, EncryptingCredentials? encryption)
    {
        var perCredentials = Headers.GetValue((object?)encryption ?? signing, _ => []);
        lock (perCredentials)
        {
            if (perCredentials.TryGetValue(jwtType, out var known))
            {
                return known;
            }
        }

        var header = encryption is null
            ? FastJwtWriter.Header(handler, signing, jwtType)
            : JweHeader(handler, signing, jwtType, encryption);
        lock (perCredentials)
        {
            perCredentials[jwtType] = header;
        }

        return header;
    }

    private static byte[] JweHeader(JsonWebTokenHandler handler, SigningCredentials signing, string jwtType, EncryptingCredentials encryption)
    {
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object>(StringComparer.Ordinal) { ["sub"] = "header" },
            SigningCredentials = signing,
            EncryptingCredentials = encryption,
            TokenType = jwtType,
        });
        return Encoding.ASCII.GetBytes(token[..token.IndexOf('.', StringComparison.Ordinal)]);
    }

    /// <summary>
    /// RFC 7516 section 5.1 with "dir" and A256CBC-HS512 (RFC 7518 section 5.2.2.1): BASE64URL(header) "." "" "." BASE64URL(IV)
    /// "." BASE64URL(ciphertext) "." BASE64URL(tag), the AAD the ASCII of BASE64URL(header).
    /// </summary>
    internal static string Encrypt(byte[] header, string plaintext, byte[] key)
    {
        Span<byte> iv = stackalloc byte[16];
        RandomNumberGenerator.Fill(iv);
        var aes = t_aes ??= Aes.Create();
        if (!ReferenceEquals(t_aesKey, key))
        {
            aes.Key = key.AsSpan(32, 32).ToArray();
            t_aesKey = key;
        }

        var plainBytes = Encoding.UTF8.GetBytes(plaintext);
        var ciphertext = aes.EncryptCbc(plainBytes, iv, PaddingMode.PKCS7);

        // M = HMAC-SHA-512(MAC_KEY, AAD || IV || ciphertext || AL), AL the AAD's length in bits, 64-bit big-endian; T = M[0..32].
        var macInput = ArrayPool<byte>.Shared.Rent(header.Length + iv.Length + ciphertext.Length + 8);
        Span<byte> mac = stackalloc byte[64];
        try
        {
            var length = 0;
            header.CopyTo(macInput, 0);
            length += header.Length;
            iv.CopyTo(macInput.AsSpan(length));
            length += iv.Length;
            ciphertext.CopyTo(macInput, length);
            length += ciphertext.Length;
            BinaryPrimitives.WriteUInt64BigEndian(macInput.AsSpan(length), (ulong)header.Length * 8);
            length += 8;
            HMACSHA512.HashData(key.AsSpan(0, 32), macInput.AsSpan(0, length), mac);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(macInput);
        }

        var builder = new StringBuilder(header.Length + 2 + Base64Url.GetEncodedLength(16) + 1 + Base64Url.GetEncodedLength(ciphertext.Length) + 1 + 43);
        builder.Append(Encoding.ASCII.GetString(header)).Append("..")
            .Append(Base64Url.EncodeToString(iv)).Append('.')
            .Append(Base64Url.EncodeToString(ciphertext)).Append('.')
            .Append(Base64Url.EncodeToString(mac[..32]));
        CryptographicOperations.ZeroMemory(plainBytes);
        return builder.ToString();
    }
}
