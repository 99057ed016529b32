using System.Text.Json;

namespace IdentityHub.Server.Verification.Adapters;

/// <summary>
/// Public-security two-element check (name + ID number against the population database).
/// POST {base}/nciic/v1/id-verifications {"name","idNumber"} -> {"transactionId","resultCode"}:
/// "1" consistent, "2" inconsistent, "3" no record, "4" number range not served (e.g. residence permits).
/// </summary>
public sealed class PublicSecurityAdapter(string provider, AuthorityOptions options, HttpClient http)
    : AuthorityHttpAdapter(provider, options, http)
{
    public override VerificationKind Kind => VerificationKind.PublicSecurityTwoElement;

    protected override string Path => "nciic/v1/id-verifications";

    protected override object? Body(VerificationRequest request) =>
        request is PersonCheck person ? new { name = person.Name, idNumber = person.IdNumber } : null;

    protected override VerificationResult Interpret(JsonElement answer)
    {
        var transaction = Text(answer, "transactionId");
        var code = Text(answer, "resultCode");
        return code switch
        {
            "1" => Result(VerificationOutcome.Match, transaction, code),
            "2" => Result(VerificationOutcome.Mismatch, transaction, code, ["name"]),
            "3" => Result(VerificationOutcome.NotFound, transaction, code),
            "4" => Result(VerificationOutcome.Unsupported, transaction, code),
            _ => Result(VerificationOutcome.ProviderError, transaction, code, detail: "Unknown result code."),
        };
    }
}
