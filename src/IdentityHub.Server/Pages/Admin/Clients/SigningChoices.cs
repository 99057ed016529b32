using IdentityHub.Server.Oidc;
using OpenIddict.Server;

namespace IdentityHub.Server.Pages.Admin.Clients;

/// <summary>
/// What the client form offers for the token signing algorithms: the server's default (Oidc:SigningAlgorithm, the empty
/// choice) and the algorithms the server can sign with now (<see cref="TokenSigning.Available"/>).
/// </summary>
public sealed record SigningChoices(string DefaultAlgorithm, IReadOnlyList<string> Available)
{
    public static SigningChoices Of(OpenIddictServerOptions server, OidcOptions oidc) => new(oidc.SigningAlgorithm, TokenSigning.Available(server));

    /// <summary>The algorithms offered for a field holding <paramref name="current"/>: those available, and the current one even if no key of it is loaded now.</summary>
    public IEnumerable<string> Offered(string? current) => TokenSigning.Algorithms.Where(a => Available.Contains(a) || a == current);
}
