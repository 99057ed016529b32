using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The client_credentials fast path's access token (RFC 9068, a JWS in compact serialisation, RFC 7515 section 7.1), byte
/// for byte what <see cref="JsonWebTokenHandler.CreateToken(SecurityTokenDescriptor)"/> writes for the same descriptor
/// (Issuer, Expires, IssuedAt, string claims, no Audience property, no default times): the protected header is the
/// handler's own, made once per signing credentials (<see cref="Header"/>); the payload is written in the handler's order
/// (iss, exp, iat, then the claims in order) with its writer options (relaxed escaping), into a per-thread buffer instead
/// of a MemoryStream (<see cref="CreateJws{TState}"/>, which <see cref="SignInJwtWriter"/> writes its payloads with too);
/// the signature is the credentials' own signature provider's, as the handler asks for it. Pinned by FastJwtWriterTests
/// against the handler.
/// </summary>
internal static class FastJwtWriter
{
    private static readonly JsonWriterOptions PayloadOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>This thread's payload buffer and writer, shared by every JWS written here (<see cref="CreateJws{TState}"/>).</summary>
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_payload;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// The handler's protected header for these credentials and token type, base64url-encoded (ASCII bytes): the first
    /// segment of a token it creates (the header depends on the credentials and the type only). With
    /// <paramref name="encryption"/>, the JWE's protected header (RFC 7516 section 7.1) of the token it encrypts with them.
    /// </summary>
    public static byte[] Header(JsonWebTokenHandler handler, SigningCredentials credentials, string tokenType,
        EncryptingCredentials? encryption = null)
    {
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object>(StringComparer.Ordinal) { ["sub"] = "header" },
            SigningCredentials = credentials,
            EncryptingCredentials = encryption,
            TokenType = tokenType,
        });
        return Encoding.ASCII.GetBytes(token[..token.IndexOf('.', StringComparison.Ordinal)]);
    }

    /// <summary>The token: header, the payload of the issuer (when any), exp, iat and the claims (strings), and the signature.</summary>
    public static string Create(byte[] header, SigningCredentials credentials, string? issuer, DateTime expires, DateTime issuedAt,
        IReadOnlyList<KeyValuePair<string, string>> claims) =>
        CreateJws(header, credentials, (issuer, expires, issuedAt, claims), static (json, state) =>
        {
            json.WriteStartObject();
            if (!string.IsNullOrEmpty(state.issuer))
            {
                json.WriteString(JwtRegisteredClaimNames.Iss, state.issuer);
            }

            json.WriteNumber(JwtRegisteredClaimNames.Exp, EpochTime.GetIntDate(state.expires));
            json.WriteNumber(JwtRegisteredClaimNames.Iat, EpochTime.GetIntDate(state.issuedAt));
            foreach (var (type, value) in state.claims)
            {
                json.WriteString(type, value);
            }

            json.WriteEndObject();
            return true;
        })!;

    /// <summary>
    /// The JWS of the payload <paramref name="writePayload"/> writes (the whole JSON object) with the handler's writer options
    /// (relaxed escaping) into this thread's buffer, signed by <see cref="Sign"/>; null, nothing signed, when it returns false.
    /// The buffer is kept for the thread unless a payload made it larger than any token's.
    /// </summary>
    internal static string? CreateJws<TState>(byte[] header, SigningCredentials credentials, TState state,
        Func<Utf8JsonWriter, TState, bool> writePayload) =>
        CreateJws(header, credentials, state, writePayload, 0, static (jws, _) => Encoding.ASCII.GetString(jws));

    /// <summary>
    /// As <see cref="CreateJws{TState}(byte[], SigningCredentials, TState, Func{Utf8JsonWriter, TState, bool})"/>, the JWS
    /// (its ASCII octets) handed to <paramref name="finish"/> instead of made a string: a token encrypted around it
    /// (<see cref="SignInJwtWriter"/>) needs the octets, not the text.
    /// </summary>
    internal static TResult? CreateJws<TState, TFinish, TResult>(byte[] header, SigningCredentials credentials, TState state,
        Func<Utf8JsonWriter, TState, bool> writePayload, TFinish finishState, JwsFinisher<TFinish, TResult> finish)
        where TResult : class
    {
        var payload = t_payload ??= new ArrayBufferWriter<byte>(2048);
        payload.ResetWrittenCount();
        var json = t_writer ??= new Utf8JsonWriter(payload, PayloadOptions);
        json.Reset(payload);
        try
        {
            if (!writePayload(json, state))
            {
                return null;
            }

            json.Flush();
            return Sign(header, payload.WrittenSpan, credentials, finishState, finish);
        }
        finally
        {
            json.Reset(Stream.Null);
            if (payload.Capacity > 64 * 1024)
            {
                t_payload = null;
            }
        }
    }

    /// <summary>What is made of a JWS's octets (compact serialisation, ASCII) while they are in the signing buffer.</summary>
    internal delegate TResult JwsFinisher<TState, TResult>(ReadOnlySpan<byte> jws, TState state);

    /// <summary>
    /// A JWS in compact serialisation (RFC 7515 section 7.1): the header (base64url, ASCII bytes), the payload's UTF-8 JSON
    /// base64url-encoded, and the signature of the credentials' own signature provider over both, as the handler signs.
    /// </summary>
    public static string Sign(byte[] header, ReadOnlySpan<byte> written, SigningCredentials credentials) =>
        Sign(header, written, credentials, 0, static (jws, _) => Encoding.ASCII.GetString(jws));

    /// <summary>As <see cref="Sign(byte[], ReadOnlySpan{byte}, SigningCredentials)"/>, the JWS's octets handed to <paramref name="finish"/>.</summary>
    internal static TResult Sign<TFinish, TResult>(byte[] header, ReadOnlySpan<byte> written, SigningCredentials credentials,
        TFinish finishState, JwsFinisher<TFinish, TResult> finish)
    {
        // header "." payload "." signature, all base64url (RFC 7515 section 2: no padding).
        var signingLength = header.Length + 1 + Base64Url.GetEncodedLength(written.Length);
        var factory = credentials.CryptoProviderFactory ?? credentials.Key.CryptoProviderFactory;
        var provider = factory.CreateForSigning(credentials.Key, credentials.Algorithm)
                       ?? throw new InvalidOperationException("No signature provider for the token's signing key.");
        var buffer = ArrayPool<byte>.Shared.Rent(signingLength + 1 + Base64Url.GetEncodedLength(1024));
        var signature = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            header.CopyTo(buffer, 0);
            buffer[header.Length] = (byte)'.';
            Base64Url.EncodeToUtf8(written, buffer.AsSpan(header.Length + 1), out _, out var encoded);
            if (header.Length + 1 + encoded != signingLength
                || !provider.Sign(buffer.AsSpan(0, signingLength), signature, out var signatureLength))
            {
                throw new InvalidOperationException("The token could not be signed.");
            }

            buffer[signingLength] = (byte)'.';
            Base64Url.EncodeToUtf8(signature.AsSpan(0, signatureLength), buffer.AsSpan(signingLength + 1), out _, out var signatureChars);
            return finish(buffer.AsSpan(0, signingLength + 1 + signatureChars), finishState);
        }
        finally
        {
            factory.ReleaseSignatureProvider(provider);
            ArrayPool<byte>.Shared.Return(signature, clearArray: true);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
