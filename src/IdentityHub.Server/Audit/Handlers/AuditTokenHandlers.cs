using IdentityHub.Server.Oidc;
using IdentityHub.Server.Registry;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using Microsoft.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Audit.Handlers;

/// <summary>HttpContext.Items keys through which the pass-through endpoints tell the audit handlers whom a grant is for.</summary>
public static class AuditHttpItems
{
    /// <summary>The internal account id behind the (possibly pairwise) sub of the tokens being issued.</summary>
    public const string UserId = "ih.audit.user_id";

    public static void SetUser(HttpContext context, string userId) => context.Items[UserId] = userId;
}

/// <summary>
/// token.issued / token.refreshed, and claims.released for the ID token, once OpenIddict has generated the tokens
/// and put them in the response (after AttachSignInParameters) and before the response is written: the answer
/// waits for the group commit. Only at the token endpoint: an authorization code is not a token anyone uses.
/// </summary>
public sealed class AuditIssuedTokens(IAuditLog audit, ClientPolicies policies) : IOpenIddictServerHandler<ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .UseScopedHandler<AuditIssuedTokens>()
            .SetOrder(OpenIddictServerHandlers.AttachSignInParameters.Descriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || context.Request?.ClientId is not { } clientId || context.Principal is null)
        {
            return;
        }

        var policy = await policies.FindAsync(clientId, context.CancellationToken);
        var userId = context.Transaction.GetHttpRequest()?.HttpContext.Items[AuditHttpItems.UserId] as string;
        await audit.WriteAsync(AuditActor.Client(clientId), Records(context.Request.IsRefreshTokenGrantType(), context.Request.GrantType ?? "",
            clientId, policy, userId, context.Principal,
            (Parameters.AccessToken, context.AccessToken, context.AccessTokenPrincipal),
            (Parameters.IdToken, context.IdentityToken, context.IdentityTokenPrincipal),
            (Parameters.RefreshToken, context.RefreshToken, context.RefreshTokenPrincipal)));
    }

    /// <summary>
    /// The events of one issuance: token.issued or token.refreshed (the tokens issued and their entry ids), and claims.released
    /// when an ID token released claims of a person. Shared with the refresh grant's fast path
    /// (<see cref="Oidc.Handlers.RefreshTokenFastPath"/>), which issues the same tokens itself.
    /// </summary>
    internal static AuditRecord[] Records(bool refreshed, string grantType, string clientId, ClientPolicy? policy, string? userId,
        System.Security.Claims.ClaimsPrincipal principal, (string Type, string? Token, System.Security.Claims.ClaimsPrincipal? Principal) access,
        (string Type, string? Token, System.Security.Claims.ClaimsPrincipal? Principal) identity,
        (string Type, string? Token, System.Security.Claims.ClaimsPrincipal? Principal) refresh)
    {
        var session = principal.GetClaim(HubClaims.SessionId);
        var tokens = new List<string>(3);
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        Note(access);
        Note(identity);
        Note(refresh);

        var tokensIssued = new TokensIssued(refreshed, clientId, policy?.DepartmentCode, userId, session, grantType, tokens,
            principal.GetScopes().ToList(), ids);
        if (userId is not null && policy is not null && identity.Principal is { } id
            && ClaimRelease.Describe(id.Claims.Select(c => c.Type), policy.Claims,
                ClaimRelease.Parse(id.FindFirst(ClaimsFactory.VerifiedClaimsType)?.Value)) is { Names.Count: > 0 } released)
        {
            return [tokensIssued, new ClaimsReleased(clientId, policy.DepartmentCode, userId, session, "id_token", released.Names, released.Masked)];
        }

        return [tokensIssued];

        void Note((string Type, string? Token, System.Security.Claims.ClaimsPrincipal? Principal) issued)
        {
            if (string.IsNullOrEmpty(issued.Token))
            {
                return;
            }

            tokens.Add(issued.Type);
            if (issued.Principal?.GetTokenId() is { } tokenId)
            {
                ids[issued.Type] = tokenId;
            }
        }
    }
}

/// <summary>token.failed: every refused token request, with the RFC 6749 section 5.2 error code, before the error is written.</summary>
public sealed class AuditRefusedTokenRequests(IAuditLog audit, ClientPolicies policies) : IOpenIddictServerHandler<ApplyTokenResponseContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
            .UseScopedHandler<AuditRefusedTokenRequests>()
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ApplyTokenResponseContext context)
    {
        if (string.IsNullOrEmpty(context.Error))
        {
            return;
        }

        var clientId = context.Request?.ClientId;
        var policy = await policies.FindAsync(clientId, context.CancellationToken);
        await audit.WriteAsync(new AuditActor("client", clientId ?? "unknown", null),
            new TokenRequestFailed(clientId, policy?.DepartmentCode, context.Request?.GrantType, context.Error));
    }
}

/// <summary>token.revoked (RFC 7009), after OpenIddict has revoked the token entry.</summary>
public sealed class AuditRevokedTokens(IAuditLog audit, ClientPolicies policies, SubjectIdentifiers subjects)
    : IOpenIddictServerHandler<HandleRevocationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleRevocationRequestContext>()
            .UseScopedHandler<AuditRevokedTokens>()
            .SetOrder(OpenIddictServerHandlers.Revocation.RevokeToken.Descriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(HandleRevocationRequestContext context)
    {
        if (context.IsRejected || context.Request.ClientId is not { } clientId)
        {
            return;
        }

        var policy = await policies.FindAsync(clientId, context.CancellationToken);
        var principal = context.GenericTokenPrincipal;
        var subject = principal?.GetClaim(Claims.Subject);
        var user = subject == clientId ? null : await subjects.FindUserAsync(subject, policy, context.CancellationToken);
        await audit.WriteAsync(AuditActor.Client(clientId),
            new TokenRevoked(clientId, policy?.DepartmentCode, user?.Id, principal?.GetTokenType(),
                // An access token has no token entry (SkipAccessTokenEntries): its jti names it.
                principal?.GetTokenId() ?? principal?.GetClaim(Claims.JwtId)));
    }
}

/// <summary>
/// Names (never values) of the released claims, and which of them went out masked under the client's policy. The
/// claims inside verified_claims (OpenID Identity Assurance 1.0 section 5: one object or an array of them, each with
/// a "claims" member) are named "verified_claims:{claim}", e.g. verified_claims:id_number, so that a person sees
/// that a department received their verified ID number, not only "verified_claims".
/// </summary>
public static class ClaimRelease
{
    public const string VerifiedPrefix = ClaimsFactory.VerifiedClaimsType + ":";

    public sealed record Released(IReadOnlyList<string> Names, IReadOnlyList<string> Masked);

    public static Released Describe(IEnumerable<string> claimTypes, ClaimReleasePolicy policy, System.Text.Json.Nodes.JsonNode? verifiedClaims = null)
    {
        var plain = claimTypes.Where(ClaimCatalog.ClaimTypes.Contains).ToList();
        var verified = VerifiedNames(verifiedClaims).ToList();
        var names = plain.Concat(verified.Select(n => VerifiedPrefix + n)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var masked = names.Where(n => ClaimCatalog.All.FirstOrDefault(c => c.ClaimTypes[0] == (n.StartsWith(VerifiedPrefix, StringComparison.Ordinal) ? n[VerifiedPrefix.Length..] : n))
                                          is { Maskable: true } claim
                                      && policy.ModeOf(claim.Key) == ReleaseMode.Masked).ToList();
        return new Released(names, masked);
    }

    /// <summary>The verified_claims of an ID token claim (its JSON text), or null.</summary>
    public static System.Text.Json.Nodes.JsonNode? Parse(string? json) =>
        string.IsNullOrEmpty(json) ? null : System.Text.Json.Nodes.JsonNode.Parse(json);

    private static IEnumerable<string> VerifiedNames(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonArray array => array.SelectMany(VerifiedNames),
        System.Text.Json.Nodes.JsonObject element when element["claims"] is System.Text.Json.Nodes.JsonObject claims => claims.Select(c => c.Key),
        _ => [],
    };
}
