using System.Text.Json;
using IdentityHub.Server.Api;
using Microsoft.IdentityModel.Tokens;

namespace IdentityHub.Server.Registry;

/// <summary>
/// The JSON Web Key Set a confidential client authenticates with (private_key_jwt, RFC 7523 section 2.2;
/// OIDC Core section 9). Only public signing keys: a key with private parameters was leaked by sending it.
/// </summary>
public static class ClientKeys
{
    private static readonly string[] PrivateParameters = ["d", "p", "q", "dp", "dq", "qi", "k"];

    public static string? Validate(JsonElement? jwks, bool publicClient, FieldErrors errors)
    {
        if (jwks is null || jwks.Value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        if (publicClient)
        {
            errors.Add("jwks", new(RegistryCodes.JwksPublicClient));
            return null;
        }

        var element = jwks.Value;
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array
            || keys.GetArrayLength() == 0)
        {
            errors.Add("jwks", new(RegistryCodes.JwksShape));
            return null;
        }

        foreach (var key in keys.EnumerateArray())
        {
            if (key.ValueKind == JsonValueKind.Object && PrivateParameters.Any(p => key.TryGetProperty(p, out _)))
            {
                errors.Add("jwks", new(RegistryCodes.JwksPrivateKey));
                return null;
            }
        }

        try
        {
            var set = new JsonWebKeySet(element.GetRawText());
            if (!set.Keys.Any(k => k.Kty is JsonWebAlgorithmsKeyTypes.RSA or JsonWebAlgorithmsKeyTypes.EllipticCurve && k.Use is null or "sig"))
            {
                errors.Add("jwks", new(RegistryCodes.JwksSigningKey));
                return null;
            }
        }
        catch (ArgumentException)
        {
            errors.Add("jwks", new(RegistryCodes.JwksInvalid));
            return null;
        }

        return element.GetRawText();
    }
}
