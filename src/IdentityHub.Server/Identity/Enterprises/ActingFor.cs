namespace IdentityHub.Server.Identity.Enterprises;

/// <summary>
/// The enterprise a person signs in for, chosen at authorization: as its legal representative or as an agent
/// under an active mandate. Carried in the code and refresh token, re-checked at every token request.
/// </summary>
public sealed record ActingFor(string EnterpriseId, string CreditCode, string Name, string Role, string? MandateId)
{
    public const string LegalRepresentative = "legal_representative";
    public const string Agent = "agent";
}
