using System.Buffers.Text;
using System.Security.Claims;
using System.Text.Json;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Audit.Handlers;
using IdentityHub.Server.Oidc.RefreshTokens;
using IdentityHub.Server.Data;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The narrow fast path of the refresh_token grant (RFC 6749 section 6): right after OpenIddict has inferred the endpoint
/// (and the issuer, and checked transport security), before it extracts the token request, this handler takes the plain
/// refresh request itself and leaves every other request, and every refusal, untouched to the normal pipeline (OpenIddict's
/// request validation and client authentication, the pass-through to <see cref="TokenEndpoint"/>), which then answers as
/// it always did. What it skips is the generic part: OpenIddict's request extraction and validation handlers, its client
/// authentication pipeline, and the ASP.NET Core endpoint, authentication and sign-in round trip of the pass-through. What
/// it keeps is everything that decides or issues:
/// <list type="bullet">
/// <item>the request: a POST of application/x-www-form-urlencoded (UTF-8 at most) with no query string, no DPoP proof
/// (RFC 9449) and no client certificate (RFC 8705) (<see cref="ClientCredentialsFastPath.IsPlainFormPost"/>); the parameters
/// grant_type=refresh_token, refresh_token, and the client's credentials, each once, nothing else (no scope: narrowing is
/// left to the normal path; no resource, audience or unknown parameter);</item>
/// <item>the client: a confidential client authenticated as the normal path accepts it, by exactly one method:
/// client_secret_basic or client_secret_post (the secret checked as <see cref="ClientCredentialsFastPath.SecretIsValid"/>
/// checks it, from the in-process <see cref="ClientCache"/>); a public client (client_id alone) is left to the normal path
/// (OpenIddict does not list "none" among its client authentication methods); a client without a key set,
/// with no requirement other than PKCE (which concerns the code grant only), holding the token endpoint and refresh_token
/// permissions, active and of an active department (<see cref="ClientPolicies"/>);</item>
/// <item>the refresh token: directly encrypted with a server-only key (JWE "dir" + A256CBC-HS512,
/// <see cref="ServerOnlyTokenKeys"/>; the older A256KW and RSA-protected tokens are left to the normal path), validated by
/// OpenIddict's own token validation (ValidateTokenContext: signature, issuer, type, expiry; with
/// <see cref="RefreshTokens.RestoreRefreshTokenEntry"/>, no database read; a token of the server's exact current shape
/// validated by <see cref="DirectRefreshTokenReader.TryValidate"/> without the dispatch, Oidc:DirectRefreshTokenValidation), and presented by the client it was issued to
/// (its presenters name the client, as OpenIddict's ValidatePresenters requires);</item>
/// <item>the grant: <see cref="TokenEndpoint.EvaluateRefreshGrantAsync"/>, the token endpoint's own checks and claims (account,
/// lock-out, assurance, session; released claims, pairwise sub, sid, auth_time, acr, amr) without a read of its own: the
/// claims from the person userinfo builds them from (<see cref="ClaimsPersonCache"/>), the account and session checks as
/// conditions of the redemption's statement, against the database; a grant acting for an enterprise (its mandate) goes to
/// the normal path;</item>
/// <item>the answer, issued here as OpenIddict's sign-in issues it for this grant (its handlers ported one to one, without
/// the pipeline: RestoreInternalClaims, AttachDefaultPresenters, InferResources, EvaluateGeneratedTokens, the
/// Prepare{Access,Refresh,Identity}TokenPrincipal handlers, AttachTokenSubject, AttachTokenMetadata, AttachTokenDigests,
/// AttachSignInParameters): the RS256 access token (RFC 9068) and, for a client registered with idTokenOnRefresh only
/// (<see cref="RefreshIdTokens"/>), the ID token (OpenID Connect Core 1.0 section 12.2: iss, sub,
/// aud, azp, auth_time, acr, amr, sid and the grant's nonce kept; at_hash) signed with the key OpenIddict uses
/// (OpenIddict's token handler, <c>CreateJwt</c>), the new refresh token
/// with the same claims and entry id, HS256 inside dir + A256CBC-HS512 (<see cref="ServerOnlyTokenKeys"/>); the redemption
/// of the presented token with the new entry in one command, under the grant's conditions, the request's one database
/// round trip (<see cref="RefreshTokenEntries.TryRedeemAndInsertAsync"/>); a token it could not redeem (unknown, revoked,
/// reused, its grant no longer valid) goes, nothing written, to the normal path, which refuses it and detects reuse (a token
/// presented again revokes its grant, RFC 9700 section 4.14.2); the awaited token.refreshed and claims.released events
/// (<see cref="AuditIssuedTokens.Records"/>); the response through OpenIddict's ApplyTokenResponse event (Cache-Control:
/// no-store, Pragma: no-cache, RFC 6749 section 5.1).
/// A grant without offline_access or without an authorization, and options under which OpenIddict would issue otherwise
/// (reference or encrypted access tokens, fixed refresh expiry, no rolling tokens, certificate binding), go to the normal
/// path.</item>
/// </list>
/// Pinned against the normal path by the OidcProtocolTests RefreshTokenFastPath_* tests. Oidc:RefreshTokenFastPath switches it
/// off; identityhub.refresh.fast_path counts its answers.
/// </summary>
public sealed partial class RefreshTokenFastPath(
    ClientCache clients,
    IdentityHubDbContext db,
    ClientPolicies policies,
    ServerOnlyTokenKeys keys,
    IAuditLog audit,
    HubMetrics metrics,
    IOpenIddictServerDispatcher dispatcher,
    IOptions<OidcOptions> oidc,
    IOptionsMonitor<OpenIddictServerAspNetCoreOptions> aspNetCore,
    TimeProvider clock,
    DirectRefreshTokenReader reader) : IOpenIddictServerHandler<ProcessRequestContext>
{
    /// <summary>After the endpoint, the issuer and the transport security check (and the client_credentials fast path); before OpenIddict extracts the token request.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenRequest>()
            .UseScopedHandler<RefreshTokenFastPath>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ValidateTransportSecurityRequirement.Descriptor.Order + 600)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>The parameters a plain refresh_token request may carry, each at most once.</summary>
    private static readonly string[] Names = [Parameters.GrantType, Parameters.RefreshToken, Parameters.ClientId, Parameters.ClientSecret];

    public async ValueTask HandleAsync(ProcessRequestContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || !oidc.Value.RefreshTokenFastPath
            || context.Transaction.Request is not null
            || context.Transaction.GetHttpRequest() is not { } http
            || !ClientCredentialsFastPath.IsPlainFormPost(http))
        {
            return;
        }

        var form = await http.ReadFormAsync(context.CancellationToken);
        if (ClientCredentialsFastPath.PlainParameters(form, Names) is not [var grantType, var refreshToken, var formId, var formSecret]
            || grantType != GrantTypes.RefreshToken || refreshToken is null || !IsDirectlyEncrypted(refreshToken))
        {
            // scope, resource, audience, claims, anything else: the normal path
            return;
        }

        // The client, authenticated as the normal path would accept it: a confidential client by exactly one of
        // client_secret_basic and client_secret_post. A public client (client_id alone) is left to the normal path.
        if (ClientCredentialsFastPath.SecretCredentials(http, formId, formSecret, context.Options) is not { } credentials)
        {
            return;
        }

        var (clientId, secret) = credentials;
        var snapshot = await clients.FindAsync(clientId, db, context.CancellationToken);
        if (snapshot is null || GrantFastPathClients.Suits(snapshot, context.Options) is not { Public: false, RefreshGrant: true } client
            || !ClientCredentialsFastPath.SecretIsValid(snapshot, secret, clock)
            || await policies.FindAsync(clientId, context.CancellationToken) is not { ClientActive: true, DepartmentActive: true } policy)
        {
            return;
        }

        await ClientCredentialsFastPath.AnswerOrDeclineAsync(context, form, clientId, secret,
            request => AnswerAsync(context, http, request, clientId, refreshToken, snapshot, policy, client));
    }

    private async Task<bool> AnswerAsync(ProcessRequestContext context, HttpRequest http, OpenIddictRequest request, string clientId,
        string refreshToken, ClientSnapshot snapshot, ClientPolicy policy, GrantFastPathClients.Derived client)
    {
        // The presented refresh token validated: a token of this server's exact shape read and checked directly
        // (DirectRefreshTokenReader.TryValidate, Oidc:DirectRefreshTokenValidation), as OpenIddict's validation would end; any
        // other by OpenIddict's own validation, as its ValidateRefreshToken dispatches it.
        if (await ValidatePresentedAsync(context, refreshToken, clientId) is not { } presented
            || presented.GetTokenType() != TokenTypeIdentifiers.RefreshToken
            || presented.GetTokenId() is not { Length: > 0 } presentedId
            // OpenIddict's ValidatePresenters: the token was issued to this client (a token without presenters: the normal path).
            || presented.GetPresenters() is not { IsDefaultOrEmpty: false } presenters || !presenters.Contains(clientId))
        {
            return false;
        }

        var options = context.Options;
        if ((options.Issuer ?? context.BaseUri) is not { IsAbsoluteUri: true } issuerUri
            || ClientCredentialsFastPath.PublicSigningCredentials(options, oidc.Value.SigningAlgorithm, snapshot) is not { } signing)
        {
            return false;
        }

        // The token endpoint's own checks and claims, without a read of their own: the claims from the person userinfo
        // also builds them from, the checks of the account and the session as conditions of the redemption below. A grant
        // this cannot decide so, and a refusal (and its reuse detection), are the normal path's.
        if (await TokenEndpoint.EvaluateRefreshGrantAsync(http.HttpContext, request, presented, clock.GetUtcNow(), context.CancellationToken)
            is not var (principal, userId, conditions))
        {
            return false;
        }

        // The sign-in principal as OpenIddict's sign-in completes it before it prepares the tokens.
        SignInTokens.PrepareSignIn(principal, presented, clientId);
        // EvaluateGeneratedTokens: an access token always, an ID token with openid, a refresh token with offline_access. A
        // grant without offline_access any more (no rotation: a lone redemption) or without an authorization (OpenIddict
        // would create an ad-hoc one): the normal path, nothing having been written yet.
        if (!principal.HasScope(Scopes.OfflineAccess) || string.IsNullOrEmpty(principal.GetAuthorizationId()))
        {
            return false;
        }

        var tokens = SignInTokens.Prepare(principal, clientId, issuerUri.AbsoluteUri, options, client, identityToken: snapshot.IdTokenOnRefresh);
        var refresh = tokens.Refresh!;

        // Rotation (RFC 9700 section 4.14.2): the presented entry redeemed and the new one inserted in one command, as
        // RefreshTokens/CreateRefreshTokenEntry does, under the grant's conditions (account, lock-out, assurance, session:
        // the database's answer, in the same statement); the one round trip of the request. Not cancelled with the request
        // (a redemption is not left half done).
        var entries = http.HttpContext.RequestServices.GetRequiredService<RefreshTokenEntries>();
        var entryId = Guid.NewGuid().ToString();
        if (!await entries.TryRedeemAndInsertAsync(presentedId, clock.GetUtcNow().UtcDateTime, entryId, snapshot.Application.Id,
                refresh.GetAuthorizationId(), refresh.GetClaim(Claims.Subject), refresh.GetCreationDate()?.UtcDateTime,
                refresh.GetExpirationDate()?.UtcDateTime, CancellationToken.None, conditions))
        {
            // Nothing written. Unknown, revoked, its grant revoked, reuse, or the grant no longer valid (a locked account, an
            // ended session, ...): the normal path answers it from the start, with its reason, and its reuse detection
            // revokes the grant of a token presented again (RFC 9700 section 4.14.2).
            return false;
        }

        refresh.SetTokenId(entryId);

        // The tokens, the awaited token.refreshed and claims.released events, and OpenIddict's token response.
        await SignInTokens.AnswerAsync(context, dispatcher, aspNetCore, audit, keys, signing.Access, signing.Identity, tokens, GrantTypes.RefreshToken, clientId, policy,
            userId, principal, () => metrics.FastPathRefresh(clientId), oidc.Value.DirectSignInTokens, client.WritesResponse);
        return true;
    }

    /// <summary>The presented token's principal once validated (directly, or by OpenIddict's dispatch), or null when refused.</summary>
    private async ValueTask<ClaimsPrincipal?> ValidatePresentedAsync(ProcessRequestContext context, string refreshToken, string clientId)
    {
        if (oidc.Value.DirectRefreshTokenValidation
            && reader.TryValidate(refreshToken, context.Options, context.BaseUri, (context.Options.TimeProvider ?? clock).GetUtcNow()) is { } direct)
        {
            metrics.DirectRefreshTokenValidation(clientId);
            return direct.Principal;
        }

        var validation = new ValidateTokenContext(context.Transaction)
        {
            CancellationToken = context.CancellationToken,
            Token = refreshToken,
            ValidTokenTypes = { TokenTypeIdentifiers.RefreshToken },
        };
        await dispatcher.DispatchAsync(validation);
        return validation.IsRejected || validation.IsRequestHandled || validation.IsRequestSkipped ? null : validation.Principal;
    }

    /// <summary>
    /// Whether the token is a JWE of this server's direct encryption (RFC 7516 compact serialisation, five parts; protected
    /// header alg "dir", enc A256CBC-HS512, RFC 7518 sections 4.5 and 5.2.5), the only kind the fast path takes.
    /// </summary>
    internal static bool IsDirectlyEncrypted(string token)
    {
        if (token.Length > 16384 || token.AsSpan().Count('.') != 4)
        {
            return false;
        }

        var header = token.AsSpan(0, token.IndexOf('.'));
        if (header.Length is 0 or > 1024)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Base64Url.GetMaxDecodedLength(header.Length)];
        if (Base64Url.DecodeFromChars(header, bytes, out _, out var written) != System.Buffers.OperationStatus.Done)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(bytes[..written]);
            string? alg = null, enc = null;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                if (!reader.Read())
                {
                    return false;
                }

                if (name is "alg" or "enc" && reader.TokenType == JsonTokenType.String)
                {
                    if (name == "alg") { alg = reader.GetString(); } else { enc = reader.GetString(); }
                }
                else
                {
                    reader.Skip();
                }
            }

            return alg == "dir" && enc == Microsoft.IdentityModel.Tokens.SecurityAlgorithms.Aes256CbcHmacSha512;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
