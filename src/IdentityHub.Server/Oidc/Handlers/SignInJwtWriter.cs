using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
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
/// the header is the handler's own for the credentials and type (<see cref="FastJwtWriter.Header"/>, once per credentials
/// and type); the payload goes into FastJwtWriter's per-thread buffer and the signature is the credentials' provider's
/// (<see cref="FastJwtWriter.CreateJws{TState}"/>). A server-only token (refresh token, authorization code) is
/// then encrypted as the handler encrypts it for this server's credentials: JWE compact serialisation (RFC 7516 section
/// 7.1) with "dir" (RFC 7518 section 4.5, no encrypted key) and A256CBC-HS512 (RFC 7518 section 5.2.5: AES-256-CBC with
/// PKCS #7 padding under the key's last 32 octets, a random 128-bit IV, the tag the first 32 octets of HMAC-SHA-512 under
/// its first 32 octets over AAD || IV || ciphertext || AL, section 5.2.2.1), the protected header the handler's own.
/// Anything it does not reproduce exactly (a claim of a value type it does not convert, a subject claim named exp, iat or
/// nbf, a principal of several identities, other encryption) returns null: the caller then asks the handler. Pinned by SignInJwtWriterTests against the handler.
/// </summary>
internal static class SignInJwtWriter
{
    /// <summary>What is kept per credentials object: signing credentials (JWS headers) or encrypting credentials (JWE headers and keys).</summary>
    private static readonly ConditionalWeakTable<object, Kept> PerCredentials = new();

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
        var encrypting = encryption is null ? null : PerCredentials.GetValue(encryption, Keep);
        if (handler.SetDefaultTimesOnTokenCreation || principal.Identities.Count() != 1 || principal.Identities.First() is not { } identity
            || (encryption is not null && (encrypting!.EncKey is null || !WithoutCustomProvider(encryption))))
        {
            return null;
        }

        var jwsHeader = Header(PerCredentials.GetValue(signing, Keep), handler, signing, token.JwtType, null).Bytes;
        if (encrypting is null)
        {
            return FastJwtWriter.CreateJws(jwsHeader, signing, (identity, token),
                static (json, state) => WritePayload(json, state.identity, state.token));
        }

        // A server-only token: the JWS's octets encrypted as they leave the signing buffer (no string of the JWS).
        return FastJwtWriter.CreateJws(jwsHeader, signing, (identity, token),
            static (json, state) => WritePayload(json, state.identity, state.token),
            (encrypting, jweHeader: Header(encrypting, handler, signing, token.JwtType, encryption)),
            static (jws, keys) => Encrypt(keys.encrypting, keys.jweHeader, jws));
    }

    private static bool WritePayload(Utf8JsonWriter json, ClaimsIdentity identity, SignInTokens.TokenDescription token)
    {
        var (inSubject, metadata, _, issuer, issuedAt, expires) = token;
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
            if (IsDate(name) || name == JwtRegisteredClaimNames.Iss || !WriteObject(json, name, value))
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
                    || (audienceSet && claim.Type == JwtRegisteredClaimNames.Aud) || (issuerSet && claim.Type == JwtRegisteredClaimNames.Iss))
                {
                    continue;
                }

                if (IsDate(claim.Type))
                {
                    // A date of the subject's (the Prepare*Token methods drop them): what the handler makes of it, the handler's.
                    return false;
                }

                claims.Add(claim);
            }

            // Stable grouping without a dictionary: a token has a few dozen claims at most.
            for (var i = 0; i < claims.Count; i++)
            {
                var type = claims[i].Type;
                var index = 0;
                while (index < groups.Count && groups[index].Type != type)
                {
                    index++;
                }

                if (index == groups.Count)
                {
                    groups.Add((type, i, 1));
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
            }

            json.WriteEndObject();
            return true;
        }
        finally
        {
            claims.Clear();
            groups.Clear();
        }
    }

    private static bool IsDate(string name) =>
        name is JwtRegisteredClaimNames.Exp or JwtRegisteredClaimNames.Iat or JwtRegisteredClaimNames.Nbf;

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

    /// <summary>
    /// What is kept per credentials object: the handler's protected headers per token type (base64url: the ASCII bytes and
    /// the text) and, for encrypting credentials of "dir" and A256CBC-HS512 with a 64-octet symmetric key, the key's two halves,
    /// read once (<see cref="SymmetricSecurityKey.Key"/> returns a new copy at each read): MAC_KEY its first 32 octets,
    /// ENC_KEY its last 32 (RFC 7518 section 5.2.2.1). Null keys: other encryption, which the handler writes.
    /// </summary>
    private sealed class Kept(byte[]? macKey, byte[]? encKey)
    {
        public byte[]? MacKey { get; } = macKey;

        public byte[]? EncKey { get; } = encKey;

        public System.Collections.Concurrent.ConcurrentDictionary<string, ProtectedHeader> Headers { get; } = new(StringComparer.Ordinal);
    }

    private sealed record ProtectedHeader(byte[] Bytes, string Text);

    /// <summary>A new entry; the key read and checked here (Alg, Enc and Key are fixed when the credentials are made).</summary>
    private static Kept Keep(object credentials)
    {
        if (credentials is not EncryptingCredentials { Alg: "dir", Enc: SecurityAlgorithms.Aes256CbcHmacSha512, Key: SymmetricSecurityKey symmetric })
        {
            return new Kept(null, null);
        }

        var key = symmetric.Key;
        try
        {
            return key.Length == 64 ? new Kept(key[..32], key[32..]) : new Kept(null, null);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The encryption by the platform's own algorithms, as the handler's default provider: no custom provider (settable, so per token).</summary>
    private static bool WithoutCustomProvider(EncryptingCredentials encryption) =>
        encryption.CryptoProviderFactory is null or { CustomCryptoProvider: null }
        && encryption.Key.CryptoProviderFactory is null or { CustomCryptoProvider: null };

    /// <summary>The handler's protected header for a JWS (encryption null) or the JWE around it: the first part of a token it creates.</summary>
    private static ProtectedHeader Header(Kept kept, JsonWebTokenHandler handler, SigningCredentials signing, string jwtType,
        EncryptingCredentials? encryption) =>
        kept.Headers.GetOrAdd(jwtType, static (type, state) =>
        {
            var bytes = FastJwtWriter.Header(state.handler, state.signing, type, state.encryption);
            return new ProtectedHeader(bytes, Encoding.ASCII.GetString(bytes));
        }, (handler, signing, encryption));

    /// <summary>
    /// RFC 7516 section 5.1 with "dir" and A256CBC-HS512 (RFC 7518 section 5.2.2.1): BASE64URL(header) "." "" "." BASE64URL(IV)
    /// "." BASE64URL(ciphertext) "." BASE64URL(tag), the AAD the ASCII of BASE64URL(header).
    /// </summary>
    private static string Encrypt(Kept keys, ProtectedHeader protectedHeader, ReadOnlySpan<byte> plaintext)
    {
        var aes = t_aes ??= Aes.Create();
        if (!ReferenceEquals(t_aesKey, keys.EncKey))
        {
            aes.Key = keys.EncKey!;
            t_aesKey = keys.EncKey;
        }

        // One pooled buffer laid out as the MAC's input, AAD || IV || ciphertext || AL (AL the AAD's length in bits, 64-bit
        // big-endian), then the tag. No array per token: only the token's string.
        var header = protectedHeader.Bytes;
        byte[]? buffer = null;
        try
        {
            var cipherLength = aes.GetCiphertextLengthCbc(plaintext.Length, PaddingMode.PKCS7);
            int ivAt = header.Length, cipherAt = ivAt + 16, alAt = cipherAt + cipherLength, tagAt = alAt + 8;
            buffer = ArrayPool<byte>.Shared.Rent(tagAt + 32);
            header.CopyTo(buffer, 0);
            var iv = buffer.AsSpan(ivAt, 16);
            RandomNumberGenerator.Fill(iv);
            if (aes.EncryptCbc(plaintext, iv, buffer.AsSpan(cipherAt, cipherLength), PaddingMode.PKCS7) != cipherLength)
            {
                throw new CryptographicException("Unexpected ciphertext length.");
            }

            BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(alAt, 8), (ulong)header.Length * 8);

            // M = HMAC-SHA-512(MAC_KEY, AAD || IV || ciphertext || AL); T = M[0..32].
            Span<byte> mac = stackalloc byte[64];
            HMACSHA512.HashData(keys.MacKey!, buffer.AsSpan(0, tagAt), mac);
            mac[..32].CopyTo(buffer.AsSpan(tagAt, 32));

            var text = protectedHeader.Text;
            var length = text.Length + 2 + Base64Url.GetEncodedLength(16) + 1 + Base64Url.GetEncodedLength(cipherLength) + 1
                + Base64Url.GetEncodedLength(32);
            return string.Create(length, (text, buffer, ivAt, cipherAt, cipherLength, tagAt), static (chars, state) =>
            {
                var (text, buffer, ivAt, cipherAt, cipherLength, tagAt) = state;
                text.CopyTo(chars);
                var at = text.Length;
                chars[at++] = '.';
                chars[at++] = '.';
                at += Base64Url.EncodeToChars(buffer.AsSpan(ivAt, 16), chars[at..]);
                chars[at++] = '.';
                at += Base64Url.EncodeToChars(buffer.AsSpan(cipherAt, cipherLength), chars[at..]);
                chars[at++] = '.';
                Base64Url.EncodeToChars(buffer.AsSpan(tagAt, 32), chars[at..]);
            });
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
