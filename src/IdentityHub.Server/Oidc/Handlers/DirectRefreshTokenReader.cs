using System.Buffers.Text;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The refresh fast path's validation of a presented refresh token of this server's own shape, without IdentityModel's JWE
/// and JWS validation and without OpenIddict's validation dispatch (<see cref="RefreshTokenFastPath"/>,
/// Oidc:DirectRefreshTokenValidation). <see cref="TryValidate"/> (DirectRefreshTokenReader.Validate.cs) ends as OpenIddict's
/// validation would; this part reads the token as OpenIddict's ValidateIdentityModelToken would, and returns the principal
/// that handler would attach.
/// <para>
/// It takes exactly what <see cref="SignInJwtWriter"/> and OpenIddict's token handler write with the current
/// <see cref="ServerOnlyTokenKeys"/>, byte for byte where it can: the JWE compact serialisation (RFC 7516 section 7.1) with the
/// handler's protected header for these credentials (alg "dir", enc A256CBC-HS512, the key's kid, typ and cty), an empty
/// encrypted key (RFC 7518 section 4.5), a 16-octet IV and a 32-octet tag (section 5.2.5), each segment in canonical base64url;
/// the tag checked first, in constant time (RFC 7518 section 5.2.2.2: HMAC-SHA-512 under MAC_KEY over AAD || IV || ciphertext
/// || AL, truncated to 32 octets), then AES-256-CBC decrypted under ENC_KEY; inside, a JWS (RFC 7515 section 7.1) with the
/// handler's HS256 header for the server-only signing key and type oi_reft+jwt, its HMAC-SHA-256 checked in constant time;
/// then the payload's issuer, which must be one of those OpenIddict's ResolveTokenValidationParameters accepts. The principal
/// is made by the token handler's own claims identity factory (the handler's type, the same validation parameters), typed as
/// a refresh token with the claim destinations of oi_cl_dstn restored, as ValidateIdentityModelToken does.
/// </para>
/// Anything else (an older key's token, A256KW or RSA protection, another header, a type other than oi_reft+jwt, a
/// token_usage claim, a tag or signature that does not match, validation parameters other than OpenIddict's defaults and
/// this server's): null, never a refusal of its own; OpenIddict's validation then decides as before.
/// </summary>
public sealed partial class DirectRefreshTokenReader(ServerOnlyTokenKeys keys)
{
    private const int TagLength = 32, IvLength = 16;

    /// <summary>The expected protected headers and the keys' bytes, per token handler (the headers are the handler's).</summary>
    private readonly ConditionalWeakTable<JsonWebTokenHandler, Expected> _expected = new();

    [ThreadStatic] private static Aes? t_aes;
    [ThreadStatic] private static byte[]? t_aesKey;

    /// <summary>
    /// The principal OpenIddict's ValidateIdentityModelToken would attach for <paramref name="token"/> (a refresh token), or
    /// null when the token is not exactly of this server's current shape or the server's validation is configured otherwise.
    /// </summary>
    private ClaimsPrincipal? TryRead(string token, OpenIddictServerOptions options, Uri? baseUri)
    {
        if (token.Length > 16384 || options.JsonWebTokenHandler is not { MapInboundClaims: false } handler
            || handler.GetType() != typeof(JsonWebTokenHandler)
            || !UsesDefaultValidation(options.TokenValidationParameters, keys)
            || ValidIssuers(options.Issuer ?? baseUri) is not { } issuers)
        {
            return null;
        }

        var expected = _expected.GetValue(handler, h => new Expected(h, keys));
        if (expected.MacKey is null)
        {
            return null;
        }

        var plaintext = Decrypt(token.AsSpan(), expected);
        if (plaintext is null)
        {
            return null;
        }

        // The inner JWS: header "." payload "." signature, the header the handler's own for the signing key and oi_reft+jwt.
        var jws = Encoding.ASCII.GetString(plaintext);
        CryptographicOperations.ZeroMemory(plaintext);
        var span = jws.AsSpan();
        var first = span.IndexOf('.');
        var last = span.LastIndexOf('.');
        if (first <= 0 || last <= first || span[(first + 1)..last].Contains('.')
            || !span[..first].SequenceEqual(expected.InnerHeader)
            || !SignatureMatches(span[..last], span[(last + 1)..], expected.SigningKey))
        {
            return null;
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(jws);
        }
        catch (Exception exception) when (exception is ArgumentException or SecurityTokenException or FormatException)
        {
            return null;
        }

        // The issuer, as IdentityModel checks it against OpenIddict's ValidIssuers (ordinal); OpenIddict's TypeValidator would
        // take the type from a token_usage claim (never written in a refresh token here): declined.
        if (!jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Iss, out var issuer) || issuer is null || !issuers.Contains(issuer)
            || jwt.TryGetPayloadValue<object>(Claims.TokenUsage, out _)
            || jwt.Typ != JsonWebTokenTypes.Private.RefreshToken)
        {
            return null;
        }

        // ValidateIdentityModelToken: the handler's claims identity, typed as a refresh token, the destinations restored.
        var principal = new ClaimsPrincipal(IdentityFactory.Create(jwt, options.TokenValidationParameters, issuer))
            .SetTokenType(TokenTypeIdentifiers.RefreshToken);
        if (jwt.TryGetPayloadValue(Claims.Private.ClaimDestinationsMap, out Dictionary<string, string[]> destinations))
        {
            principal.SetDestinations(destinations.ToImmutableDictionary(pair => pair.Key, pair => pair.Value.ToImmutableArray()));
        }

        return principal;
    }

    /// <summary>
    /// RFC 7516 section 5.2 for "dir" and A256CBC-HS512: five segments, the protected header exactly the expected one, no
    /// encrypted key, the IV and tag of their lengths; the tag compared in constant time before anything is decrypted.
    /// The plaintext (the inner JWS), or null.
    /// </summary>
    private static byte[]? Decrypt(ReadOnlySpan<char> token, Expected expected)
    {
        Span<Range> parts = stackalloc Range[6];
        if (token.Split(parts, '.') != 5)
        {
            return null;
        }

        var header = token[parts[0]];
        var ivText = token[parts[2]];
        var cipherText = token[parts[3]];
        var tagText = token[parts[4]];
        if (!header.SequenceEqual(expected.OuterHeader) || !token[parts[1]].IsEmpty
            || ivText.Length != Base64Url.GetEncodedLength(IvLength) || tagText.Length != Base64Url.GetEncodedLength(TagLength)
            || cipherText.Length is 0 or > 16384)
        {
            return null;
        }

        Span<byte> iv = stackalloc byte[IvLength];
        var ciphertext = new byte[Base64Url.GetMaxDecodedLength(cipherText.Length)];
        if (!Base64Url.TryDecodeFromChars(ivText, iv, out var ivWritten) || ivWritten != IvLength
            || !Base64Url.TryDecodeFromChars(cipherText, ciphertext, out var cipherWritten)
            || cipherWritten == 0 || cipherWritten % 16 != 0
            || Base64Url.GetEncodedLength(cipherWritten) != cipherText.Length)
        {
            return null;
        }

        // M = HMAC-SHA-512(MAC_KEY, AAD || IV || ciphertext || AL), T = M[0..32], AAD the ASCII of the encoded header, AL its
        // length in bits (64-bit big-endian). Compared as canonical base64url, in constant time.
        var aad = expected.OuterHeaderBytes;
        var macInput = new byte[aad.Length + IvLength + cipherWritten + 8];
        aad.CopyTo(macInput, 0);
        iv.CopyTo(macInput.AsSpan(aad.Length));
        ciphertext.AsSpan(0, cipherWritten).CopyTo(macInput.AsSpan(aad.Length + IvLength));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(macInput.AsSpan(macInput.Length - 8), (ulong)aad.Length * 8);
        Span<byte> mac = stackalloc byte[64];
        HMACSHA512.HashData(expected.MacKey, macInput, mac);
        if (!EncodedEquals(mac[..TagLength], tagText))
        {
            return null;
        }

        var aes = t_aes ??= Aes.Create();
        if (!ReferenceEquals(t_aesKey, expected.EncKey))
        {
            aes.Key = expected.EncKey!;
            t_aesKey = expected.EncKey;
        }

        try
        {
            return aes.DecryptCbc(ciphertext.AsSpan(0, cipherWritten), iv, PaddingMode.PKCS7);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>HS256 (RFC 7518 section 3.2) over the JWS signing input, compared as canonical base64url in constant time.</summary>
    private static bool SignatureMatches(ReadOnlySpan<char> signingInput, ReadOnlySpan<char> signature, byte[] key)
    {
        if (signature.Length != Base64Url.GetEncodedLength(32) || signingInput.Length > 16384)
        {
            return false;
        }

        Span<byte> input = stackalloc byte[signingInput.Length];
        for (var i = 0; i < signingInput.Length; i++)
        {
            if (signingInput[i] > 0x7F)
            {
                return false;
            }

            input[i] = (byte)signingInput[i];
        }

        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, input, mac);
        return EncodedEquals(mac, signature);
    }

    private static bool EncodedEquals(ReadOnlySpan<byte> mac, ReadOnlySpan<char> presented)
    {
        Span<char> encoded = stackalloc char[Base64Url.GetEncodedLength(mac.Length)];
        Base64Url.EncodeToChars(mac, encoded);
        return encoded.Length == presented.Length
               && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(encoded), MemoryMarshal.AsBytes(presented));
    }

    /// <summary>
    /// ResolveTokenValidationParameters' issuers for the server's issuer (else the request's base URI): the URI, and for one
    /// without path, query or fragment also without its trailing slash (RFC 3986 section 6.2.3). Null: declined.
    /// </summary>
    internal static string[]? ValidIssuers(Uri? issuer) => issuer switch
    {
        null or { IsAbsoluteUri: false } => null,
        { AbsolutePath: "/", Query.Length: 0, Fragment.Length: 0 } uri => [uri.AbsoluteUri, uri.AbsoluteUri[..^1]],
        { AbsolutePath.Length: 0, Query.Length: 0, Fragment.Length: 0 } uri => [uri.AbsoluteUri, uri.AbsoluteUri + "/"],
        { } uri => [uri.AbsoluteUri],
    };

    /// <summary>
    /// Whether IdentityModel's validation would be the one this reader does: OpenIddict's parameters as this server sets them
    /// (no issuers configured, no lifetime or replay validation, no custom reader, validator, resolver or crypto provider,
    /// <see cref="ProtectServerOnlyTokens.AcceptsSigningKey"/>), and the current server-only keys among its keys.
    /// </summary>
    private static bool UsesDefaultValidation(TokenValidationParameters p, ServerOnlyTokenKeys keys) =>
        p is { ValidIssuer: null, ValidIssuers: null, ValidateLifetime: false, ValidateTokenReplay: false, ValidateAudience: false,
            IssuerValidator: null, IssuerValidatorUsingConfiguration: null, SignatureValidator: null, SignatureValidatorUsingConfiguration: null,
            TokenReader: null, TokenDecryptionKeyResolver: null, IssuerSigningKeyResolver: null, IssuerSigningKeyResolverUsingConfiguration: null,
            CryptoProviderFactory: null, TransformBeforeSignatureValidation: null, RequireSignedTokens: true, SaveSigninToken: false,
            AlgorithmValidator: null, ValidateActor: false,
            ConfigurationManager: null, ValidAlgorithms: null, TokenDecryptionKey: null, IssuerSigningKey: null }
        && p.IssuerSigningKeyValidator == ProtectServerOnlyTokens.AcceptsSigningKey
        && p.TypeValidator == DefaultTypeValidator
        && p.IssuerSigningKeys?.Contains(keys.Signing.Key) == true
        && p.TokenDecryptionKeys?.Contains(keys.Encryption.Key) == true
        && keys.Signing.CryptoProviderFactory is null or { CustomCryptoProvider: null }
        && keys.Encryption.CryptoProviderFactory is null or { CustomCryptoProvider: null };

    /// <summary>OpenIddict's own type validator (a static lambda of its options' validation parameters): any other is declined.</summary>
    private static readonly TypeValidator? DefaultTypeValidator = new OpenIddictServerOptions().TokenValidationParameters.TypeValidator;

    /// <summary>The handler's headers (base64url) for the current keys and oi_reft+jwt, and the keys' bytes, read once.</summary>
    private sealed class Expected
    {
        public Expected(JsonWebTokenHandler handler, ServerOnlyTokenKeys keys)
        {
            InnerHeader = Encoding.ASCII.GetString(FastJwtWriter.Header(handler, keys.Signing, JsonWebTokenTypes.Private.RefreshToken));
            OuterHeaderBytes = FastJwtWriter.Header(handler, keys.Signing, JsonWebTokenTypes.Private.RefreshToken, keys.Encryption);
            OuterHeader = Encoding.ASCII.GetString(OuterHeaderBytes);
            SigningKey = ((SymmetricSecurityKey)keys.Signing.Key).Key;
            if (keys.Signing.Algorithm != SecurityAlgorithms.HmacSha256 || SigningKey.Length < 32)
            {
                return;
            }

            if (keys.Encryption is { Alg: "dir", Enc: SecurityAlgorithms.Aes256CbcHmacSha512, Key: SymmetricSecurityKey { Key: { Length: 64 } key } })
            {
                MacKey = key[..32];
                EncKey = key[32..];
                CryptographicOperations.ZeroMemory(key);
            }
        }

        public string InnerHeader { get; }

        public string OuterHeader { get; }

        public byte[] OuterHeaderBytes { get; }

        public byte[] SigningKey { get; }

        public byte[]? MacKey { get; }

        public byte[]? EncKey { get; }
    }

    /// <summary>The token handler's own claims identity (as its ValidateTokenAsync makes it for a valid token).</summary>
    private sealed class IdentityFactory : JsonWebTokenHandler
    {
        [ThreadStatic] private static IdentityFactory? t_factory;

        public static ClaimsIdentity Create(JsonWebToken token, TokenValidationParameters parameters, string issuer)
        {
            // Without inbound claim mapping, as OpenIddict's handler (TryRead declines any other).
            var factory = t_factory ??= new IdentityFactory { MapInboundClaims = false };
            return factory.CreateClaimsIdentity(token, parameters, issuer);
        }
    }
}
