using System.Text.Json;

namespace IdentityHub.Server.Verification.Adapters;

/// <summary>
/// Carrier three-element check (name + ID number + mobile number registered under that ID).
/// POST {base}/carrier/v2/three-factor {"name","idCard","mobile"} -> {"txnId","status","mismatch":[...]}:
/// MATCH, MISMATCH (with the failing fields), NO_RECORD, UNSUPPORTED_NUMBER (a range the carrier does not serve).
/// </summary>
public sealed class CarrierAdapter(string provider, AuthorityOptions options, HttpClient http)
    : AuthorityHttpAdapter(provider, options, http)
{
    public override VerificationKind Kind => VerificationKind.CarrierThreeElement;

    protected override string Path => "carrier/v2/three-factor";

    protected override object? Body(VerificationRequest request) =>
        request is PersonCheck { Mobile: { } mobile } person ? new { name = person.Name, idCard = person.IdNumber, mobile } : null;

    protected override VerificationResult Interpret(JsonElement answer)
    {
        var transaction = Text(answer, "txnId");
        var status = Text(answer, "status");
        return status switch
        {
            "MATCH" => Result(VerificationOutcome.Match, transaction, status),
            "MISMATCH" => Result(VerificationOutcome.Mismatch, transaction, status, Fields(answer)),
            "NO_RECORD" => Result(VerificationOutcome.NotFound, transaction, status),
            "UNSUPPORTED_NUMBER" => Result(VerificationOutcome.Unsupported, transaction, status),
            _ => Result(VerificationOutcome.ProviderError, transaction, status, detail: "Unknown status."),
        };
    }

    private static List<string> Fields(JsonElement answer) =>
        answer.TryGetProperty("mismatch", out var fields) && fields.ValueKind == JsonValueKind.Array
            ? fields.EnumerateArray().Select(f => f.GetString() switch { "idCard" => "id_number", var other => other ?? "" }).ToList()
            : [];
}
