using System.Globalization;
using System.Text.Json.Nodes;
using IdentityHub.Server.Identity;
using IdentityHub.Server.Identity.RealName;
using IdentityHub.Server.Registry;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// verified_claims (OpenID Identity Assurance 1.0): the person's verified identity with how it was verified
/// (trust framework, assurance level, time, evidence). Built only for a verified person, only for requests whose
/// verification constraints the verification meets (otherwise the element is omitted, section 6.5), and with only
/// the claims the client's policy releases (full or masked).
/// </summary>
public static class VerifiedClaims
{
    /// <summary>Claims that can appear inside verified_claims.</summary>
    public static readonly IReadOnlyList<string> Supported = ["name", "birthdate", "gender", "id_number"];

    public static readonly IReadOnlyList<string> EvidenceTypes = ["document", "electronic_record"];

    public static JsonNode? Build(ClaimsRequestTarget? target, Person person, ClaimReleasePolicy policy, string trustFramework, DateTimeOffset now,
        Func<RealNameRecord, string> revealIdNumber)
    {
        if (target is not { VerifiedClaims.Count: > 0 } || person.RealName is null || person.VerifiedAtUtc is not { } verifiedAt)
        {
            return null;
        }

        var level = AssuranceLevels.Name(person.Level);
        var answers = new List<JsonNode>();
        foreach (var request in target.VerifiedClaims)
        {
            if ((request.TrustFrameworks is { } frameworks && !frameworks.Contains(trustFramework))
                || (request.AssuranceLevels is { } levels && !levels.Contains(level))
                || (request.MaxAge is { } maxAge && now - new DateTimeOffset(verifiedAt, TimeSpan.Zero) > TimeSpan.FromSeconds(maxAge)))
            {
                continue;
            }

            var claims = new JsonObject();
            foreach (var name in request.Claims.Where(Supported.Contains))
            {
                var key = ClaimCatalog.All.First(c => c.ClaimTypes.Contains(name)).Key;
                if (policy.ModeOf(key) == ReleaseMode.None)
                {
                    continue;
                }

                foreach (var (type, value, _) in PersonClaims.Values(person, key, policy.ModeOf(key), revealIdNumber).Where(v => v.Type == name))
                {
                    claims[type] = value;
                }
            }

            // Nothing the policy lets through: the element is omitted rather than sent empty.
            if (claims.Count > 0)
            {
                answers.Add(new JsonObject { ["verification"] = Verification(person, trustFramework, level, verifiedAt), ["claims"] = claims });
            }
        }

        return answers.Count == 0 ? null : target.VerifiedClaimsAsArray ? new JsonArray([.. answers]) : answers[0];
    }

    private static JsonObject Verification(Person person, string trustFramework, string level, DateTime verifiedAt) => new()
    {
        ["trust_framework"] = trustFramework,
        ["assurance_level"] = level,
        ["time"] = Time(verifiedAt),
        ["evidence"] = new JsonArray([.. person.Evidence.OrderByDescending(e => e.Level).ThenByDescending(e => e.Id).Select(Evidence)]),
    };

    /// <summary>Section 5.4: an electronic record (an authority's register) or a document checked in person.</summary>
    private static JsonNode Evidence(VerificationEvidence evidence)
    {
        JsonObject Check(string method) => new()
        {
            ["check_method"] = method,
            ["organization"] = evidence.Provider,
            ["txn"] = evidence.TransactionId,
            ["time"] = Time(evidence.VerifiedAtUtc),
        };

        return evidence.Check == EvidenceChecks.InPerson
            ? new JsonObject
            {
                ["type"] = "document",
                // Chip read (vcrypt) and face compared with the chip's photo by the clerk (bvr).
                ["check_details"] = new JsonArray(Check("vcrypt"), Check("bvr")),
                ["document_details"] = new JsonObject { ["type"] = "idcard" },
            }
            : new JsonObject
            {
                ["type"] = "electronic_record",
                ["check_details"] = new JsonArray(Check("data")),
                ["record"] = new JsonObject
                {
                    ["type"] = evidence.Check == EvidenceChecks.CarrierThreeElement ? "mobile_carrier_register" : "population_register",
                },
            };
    }

    private static string Time(DateTime utc) =>
        DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
