using System.Text.Json;

namespace IdentityHub.Server.Verification.Adapters;

/// <summary>
/// Business registration check (market regulation registry): credit code + enterprise name + legal representative.
/// POST {base}/market-regulation/v1/enterprise-checks {"creditCode","enterpriseName","legalRepresentative"}
/// -> {"requestId","outcome","fields":{"enterpriseName":bool,"legalRepresentative":bool},"operatingStatus"}:
/// consistent, inconsistent (with the failing fields), not_found.
/// </summary>
public sealed class BusinessRegistryAdapter(string provider, AuthorityOptions options, HttpClient http)
    : AuthorityHttpAdapter(provider, options, http)
{
    public override VerificationKind Kind => VerificationKind.BusinessRegistration;

    protected override string Path => "market-regulation/v1/enterprise-checks";

    protected override object? Body(VerificationRequest request) =>
        request is EnterpriseCheck enterprise
            ? new { creditCode = enterprise.CreditCode, enterpriseName = enterprise.Name, legalRepresentative = enterprise.LegalRepresentative }
            : null;

    protected override VerificationResult Interpret(JsonElement answer)
    {
        var transaction = Text(answer, "requestId");
        var outcome = Text(answer, "outcome");
        return outcome switch
        {
            "consistent" => Result(VerificationOutcome.Match, transaction, outcome, detail: Text(answer, "operatingStatus")),
            "inconsistent" => Result(VerificationOutcome.Mismatch, transaction, outcome, Failing(answer)),
            "not_found" => Result(VerificationOutcome.NotFound, transaction, outcome),
            "unsupported" => Result(VerificationOutcome.Unsupported, transaction, outcome),
            _ => Result(VerificationOutcome.ProviderError, transaction, outcome, detail: "Unknown outcome."),
        };
    }

    private static List<string> Failing(JsonElement answer) =>
        answer.TryGetProperty("fields", out var fields) && fields.ValueKind == JsonValueKind.Object
            ? fields.EnumerateObject().Where(f => f.Value.ValueKind == JsonValueKind.False)
                .Select(f => f.Name switch { "enterpriseName" => "name", "legalRepresentative" => "legal_representative", var other => other }).ToList()
            : [];
}
