using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Oidc;

/// <summary>One verified_claims request (OpenID Identity Assurance 1.0 section 6): constraints on the verification, and the claims wanted.</summary>
public sealed record VerifiedClaimsRequest(IReadOnlyList<string>? TrustFrameworks, IReadOnlyList<string>? AssuranceLevels, long? MaxAge,
    IReadOnlyList<string> Claims);

/// <summary>The id_token or userinfo member of a claims request: individual claims, and verified_claims requests.</summary>
public sealed record ClaimsRequestTarget(IReadOnlyList<string> Claims, IReadOnlyList<VerifiedClaimsRequest> VerifiedClaims, bool VerifiedClaimsAsArray);

/// <summary>
/// The OIDC claims request parameter (OIDC Core section 5.5), which OpenIddict does not interpret: parsed and
/// validated at the authorization endpoint (<see cref="Handlers.ValidateClaimsParameter"/>), carried in the
/// authorization code and refresh token as a normalised private claim (and in the access token when it asks
/// for userinfo claims), and applied by <see cref="ClaimsFactory"/>, always within the client's claim policy.
/// Values constraints on individual claims are accepted and ignored (section 5.5.1: voluntary).
/// </summary>
public sealed record ClaimsRequest(ClaimsRequestTarget? IdToken, ClaimsRequestTarget? UserInfo)
{
    public const string Parameter = "claims";

    /// <summary>The normalised request inside IdentityHub's own tokens.</summary>
    public const string PrivateClaim = "ih_claims";

    private const int MaxLength = 8_192;
    private const int MaxNames = 64;

    public static bool TryParse(string? json, out ClaimsRequest? request, out string? error)
    {
        request = null;
        error = null;
        try
        {
            if (string.IsNullOrWhiteSpace(json) || json.Length > MaxLength)
            {
                throw new FormatException($"must be a JSON object of at most {MaxLength} characters");
            }

            if (JsonNode.Parse(json) is not JsonObject root)
            {
                throw new FormatException("must be a JSON object");
            }

            request = new ClaimsRequest(Target(root, "id_token"), Target(root, "userinfo"));
            return true;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            error = e is JsonException ? "is not valid JSON" : e.Message;
            return false;
        }
    }

    public static ClaimsRequest? FromPrincipal(ClaimsPrincipal? principal) => FromClaim(principal?.GetClaim(PrivateClaim));

    /// <summary>The request of a token's <see cref="PrivateClaim"/> value; null without one (or an unreadable one).</summary>
    public static ClaimsRequest? FromClaim(string? json) =>
        json is not null && TryParse(json, out var request, out _) ? request : null;

    /// <summary>Only what IdentityHub uses, in the parameter's own syntax (so that <see cref="TryParse"/> reads it back).</summary>
    public string ToJson()
    {
        var root = new JsonObject();
        if (IdToken is not null)
        {
            root["id_token"] = Write(IdToken);
        }

        if (UserInfo is not null)
        {
            root["userinfo"] = Write(UserInfo);
        }

        return root.ToJsonString();
    }

    private static ClaimsRequestTarget? Target(JsonObject root, string member)
    {
        if (!root.TryGetPropertyValue(member, out var node) || node is null)
        {
            return null;
        }

        if (node is not JsonObject target || target.Count > MaxNames)
        {
            throw new FormatException($"\"{member}\" must be a JSON object of at most {MaxNames} members");
        }

        var claims = new List<string>();
        var verified = new List<VerifiedClaimsRequest>();
        var asArray = false;
        foreach (var (name, value) in target)
        {
            if (name == "verified_claims")
            {
                asArray = value is JsonArray;
                var elements = value switch
                {
                    JsonObject single => [single],
                    JsonArray { Count: > 0 and <= 8 } array when array.All(a => a is JsonObject) => array.Cast<JsonObject>().ToList(),
                    _ => throw new FormatException($"\"{member}.verified_claims\" must be an object or a non-empty array of objects"),
                };
                verified.AddRange(elements.Select(e => Verified(e, member)));
                continue;
            }

            CheckIndividual(value, member + "." + name);
            claims.Add(name);
        }

        return new ClaimsRequestTarget(claims, verified, asArray);
    }

    private static VerifiedClaimsRequest Verified(JsonObject element, string member)
    {
        var path = member + ".verified_claims";
        if (element["verification"] is not JsonObject verification)
        {
            throw new FormatException($"\"{path}.verification\" is required and must be an object");
        }

        if (element["claims"] is not JsonObject { Count: > 0 and <= MaxNames } claims)
        {
            throw new FormatException($"\"{path}.claims\" is required and must be a non-empty object");
        }

        foreach (var (name, value) in claims)
        {
            CheckIndividual(value, path + ".claims." + name);
        }

        long? maxAge = null;
        if (verification["time"] is JsonObject time && time["max_age"] is { } age)
        {
            maxAge = age is JsonValue v && v.TryGetValue<long>(out var seconds) && seconds >= 0
                ? seconds
                : throw new FormatException($"\"{path}.verification.time.max_age\" must be a non-negative integer");
        }

        return new VerifiedClaimsRequest(Values(verification, "trust_framework", path), Values(verification, "assurance_level", path), maxAge,
            claims.Select(c => c.Key).ToList());
    }

    /// <summary>value / values of a constraint element; null when absent or null (anything acceptable).</summary>
    private static List<string>? Values(JsonObject verification, string name, string path)
    {
        var node = verification[name];
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject constraint)
        {
            throw new FormatException($"\"{path}.verification.{name}\" must be null or an object");
        }

        if (constraint["value"] is JsonValue single && single.TryGetValue<string>(out var one))
        {
            return [one];
        }

        if (constraint["values"] is JsonArray many && many.All(m => m is JsonValue mv && mv.TryGetValue<string>(out _)))
        {
            return many.Select(m => m!.GetValue<string>()).ToList();
        }

        return null;
    }

    private static void CheckIndividual(JsonNode? value, string path)
    {
        // OIDC Core section 5.5.1: null, or an object with essential / value / values.
        if (value is not null and not JsonObject)
        {
            throw new FormatException($"\"{path}\" must be null or an object");
        }
    }

    private static JsonObject Write(ClaimsRequestTarget target)
    {
        var node = new JsonObject();
        foreach (var claim in target.Claims)
        {
            node[claim] = null;
        }

        if (target.VerifiedClaims.Count > 0)
        {
            var elements = target.VerifiedClaims.Select(v => (JsonNode)Write(v)).ToArray();
            node["verified_claims"] = target.VerifiedClaimsAsArray ? new JsonArray(elements) : elements[0];
        }

        return node;
    }

    private static JsonObject Write(VerifiedClaimsRequest request)
    {
        var verification = new JsonObject();
        if (request.TrustFrameworks is not null)
        {
            verification["trust_framework"] = new JsonObject { ["values"] = new JsonArray([.. request.TrustFrameworks.Select(t => (JsonNode?)t)]) };
        }

        if (request.AssuranceLevels is not null)
        {
            verification["assurance_level"] = new JsonObject { ["values"] = new JsonArray([.. request.AssuranceLevels.Select(t => (JsonNode?)t)]) };
        }

        if (request.MaxAge is not null)
        {
            verification["time"] = new JsonObject { ["max_age"] = request.MaxAge };
        }

        var claims = new JsonObject();
        foreach (var claim in request.Claims)
        {
            claims[claim] = null;
        }

        return new JsonObject { ["verification"] = verification, ["claims"] = claims };
    }
}
