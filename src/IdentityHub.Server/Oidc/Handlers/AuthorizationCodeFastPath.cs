using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Oidc.RefreshTokens;
using IdentityHub.Server.Oidc.Revocation;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// The narrow fast path of the authorization_code grant (RFC 6749 section 4.1.3, OpenID Connect Core 1.0 section 3.1.3),
/// built as <see cref="RefreshTokenFastPath"/> is and sharing its pieces (<see cref="GrantFastPathClients"/>,
/// <see cref="SignInTokens"/>, <see cref="ClientCredentialsFastPath"/>'s request and client checks): right after OpenIddict has
/// inferred the endpoint, before it extracts the token request, this handler takes the plain code exchange itself and
/// leaves every other request, every refusal and every code it cannot redeem untouched to the normal pipeline, which then
/// answers as it always did (nothing has been written when it declines). What it keeps is everything that decides:
/// <list type="bullet">
/// <item>the request: a plain form POST (<see cref="ClientCredentialsFastPath.IsPlainFormPost"/>) with grant_type,
/// code, redirect_uri, code_verifier and the client's credentials, each once, nothing else;</item>
/// <item>the client (RFC 6749 sections 2.3 and 3.2.1): a confidential client by exactly one of client_secret_basic and
/// client_secret_post, its secret checked as the normal path checks it, or a public client by client_id alone (no
/// Authorization header, no secret; OpenIddict's ValidateClientType); a client of <see cref="GrantFastPathClients"/>
/// permitted the token endpoint and the code grant, active and of an active department;</item>
/// <item>the code: its entry read once by its hashed reference id (<see cref="RefreshTokenEntries.FindCodeAsync"/>, with
/// OpenIddict's ordinal comparison of the reference) and taken only when it is a valid code entry of this client whose
/// authorization is valid and which has not expired (what ValidateReferenceTokenIdentifier, ValidateTokenEntry,
/// ValidateAuthorizationEntry and ValidateExpirationDate check); its payload validated by OpenIddict's own token validation
/// (signature, encryption, issuer, type, expiry; the three entry handlers skipped, the entry having been read), the entry's
/// properties restored on the principal as RestoreTokenEntryProperties restores them; the code bound to the client (its
/// presenters, ValidatePresenters), to the redirect_uri of the authorization request (an exact match, RFC 6749 section
/// 4.1.3, ValidateRedirectUri) and to the PKCE challenge (RFC 7636 section 4.6: S256 only, the verifier of RFC 7636
/// section 4.1's form, compared in constant time; a "plain" challenge is the normal path's, which refuses it);</item>
/// <item>the grant: <see cref="TokenEndpoint.EvaluateGrantAsync"/> (account, lock-out, assurance, session not ended,
/// mandate; the claims); with Oidc:CodeGrantReadsAccountWithCode the account read with the code's entry, in its round trip
/// (<see cref="GrantSubjects.LoadWithCodeAsync"/>), and the session (with the account again) checked by the redemption's
/// statement (<see cref="GrantConditions"/>);</item>
/// <item>the code's single use (RFC 6749 section 4.1.2): redeemed by one conditional UPDATE with the first refresh
/// token's entry in the same command (<see cref="RefreshTokenEntries.TryRedeemCodeAndInsertAsync"/>), or alone without
/// offline_access. When the UPDATE finds the code no longer valid (another request redeemed it meanwhile, or it was revoked),
/// nothing is written and the request goes to the normal path, whose ValidateTokenEntry sees the code redeemed, revokes
/// what was issued under its authorization (RFC 6749 section 4.1.2, RFC 9700 section 4.5) and answers invalid_grant; a
/// code presented again after its redemption never gets past the entry check here, and gets the same answer. When the
/// UPDATE finds the grant's conditions no longer holding (the session ended, or the account locked or below the client's
/// level, since the read), the code is left unredeemed and the normal path's EvaluateGrantAsync answers invalid_grant;</item>
/// <item>the answer: as <see cref="SignInTokens.AnswerAsync"/> writes it (access token, ID token with at_hash, nonce, auth_time,
/// acr, amr, sid, aud and azp, refresh token; token.issued and claims.released awaited; OpenIddict's token response).</item>
/// </list>
/// Pinned against the normal path by the OidcProtocolTests CodeFastPath_* tests. Oidc:AuthorizationCodeFastPath switches it
/// off; identityhub.code.fast_path counts its answers.
/// </summary>
public sealed class AuthorizationCodeFastPath(
    ClientCache clients,
    ServerOnlyTokenKeys keys,
    IAuditLog audit,
    HubMetrics metrics,
    IOpenIddictServerDispatcher dispatcher,
    IOptions<OidcOptions> oidc,
    IOptionsMonitor<OpenIddictServerAspNetCoreOptions> aspNetCore,
    TimeProvider clock) : IOpenIddictServerHandler<ProcessRequestContext>
{
    /// <summary>After the refresh grant's fast path; before OpenIddict extracts the token request.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenRequest>()
            .UseScopedHandler<AuthorizationCodeFastPath>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ValidateTransportSecurityRequirement.Descriptor.Order + 700)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>The parameters the fast path takes, and no other.</summary>
    private static readonly string[] Names =
        [Parameters.GrantType, Parameters.Code, Parameters.RedirectUri, Parameters.CodeVerifier, Parameters.ClientId, Parameters.ClientSecret];

    /// <summary>Transaction property: the id of the code entry the fast path has read, while OpenIddict validates its payload.</summary>
    private const string EntryReadProperty = "ih.code_fast_path.entry";

    public async ValueTask HandleAsync(ProcessRequestContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || !oidc.Value.AuthorizationCodeFastPath
            || context.Transaction.Request is not null
            || context.Transaction.GetHttpRequest() is not { } http
            || !ClientCredentialsFastPath.IsPlainFormPost(http))
        {
            return;
        }

        var form = await http.ReadFormAsync(context.CancellationToken);
        if (ClientCredentialsFastPath.PlainParameters(form, Names) is not [var grantType, var code, var redirectUri, var verifier, var formId, var formSecret]
            || grantType != GrantTypes.AuthorizationCode || code is null || code.Length > 1024
            || redirectUri is null || verifier is null || !IsVerifier(verifier))
        {
            // scope, resource, audience, claims, client assertions, anything else: the normal path
            return;
        }

        // The client: a confidential client by exactly one of client_secret_basic and client_secret_post, or a public client
        // by its client_id alone (no Authorization header, no secret).
        string clientId;
        string? secret = null;
        if (http.Headers.Authorization.Count == 0 && formId is not null && formSecret is null)
        {
            clientId = formId;
        }
        else if (ClientCredentialsFastPath.SecretCredentials(http, formId, formSecret, context.Options) is { } credentials)
        {
            (clientId, secret) = credentials;
        }
        else
        {
            return;
        }

        var services = http.HttpContext.RequestServices;
        var snapshot = await clients.FindAsync(clientId, services, context.CancellationToken);
        // A public client presenting a secret, or a confidential one without: the normal path's invalid_client.
        if (snapshot is null || GrantFastPathClients.Suits(snapshot, context.Options) is not { CodeGrant: true } client
            || client.Public != (secret is null)
            || (secret is not null && !ClientCredentialsFastPath.SecretIsValid(snapshot, secret, clock))
            || ClientPolicies.Of(clientId, snapshot) is not { ClientActive: true, DepartmentActive: true } policy)
        {
            return;
        }

        await ClientCredentialsFastPath.AnswerOrDeclineAsync(context, form, clientId, secret,
            request => AnswerAsync(context, http, request, clientId, code, redirectUri, verifier, snapshot, policy, client));
    }

    private async Task<bool> AnswerAsync(ProcessRequestContext context, HttpRequest http, OpenIddictRequest request, string clientId,
        string code, string redirectUri, string verifier, ClientSnapshot snapshot, ClientPolicy policy, GrantFastPathClients.Derived client)
    {
        var options = context.Options;
        var services = http.HttpContext.RequestServices;
        if (services.GetRequiredService<IOpenIddictTokenManager>() is not HubTokenManager tokens
            || (options.Issuer ?? context.BaseUri) is not { IsAbsoluteUri: true } issuerUri
            || ClientCredentialsFastPath.PublicSigningCredentials(options, oidc.Value.SigningAlgorithm, snapshot) is not { } signing)
        {
            return false;
        }

        // The code's entry (OpenIddict's FindByReferenceIdAsync, ordinal comparison included), taken only when valid, of this
        // client, of a valid authorization and not expired; anything else (unknown, redeemed: reuse, revoked, expired) is
        // the normal path's, which refuses it and, for a redeemed code, revokes what it issued.
        // With Oidc:CodeGrantReadsAccountWithCode, the account the entry's subject stands for comes in the same round trip
        // (GrantSubjects.LoadWithCodeAsync), taken below once the code is validated and its sub is that subject.
        var entries = services.GetRequiredService<RefreshTokenEntries>();
        var hashed = await tokens.HashReferenceIdAsync(code, context.CancellationToken);
        var now = options.TimeProvider.GetUtcNow();
        var skew = options.TokenValidationParameters.ClockSkew;
        var withPerson = oidc.Value.CodeGrantReadsAccountWithCode
            ? await services.GetRequiredService<GrantSubjects>().LoadWithCodeAsync(hashed, policy, context.CancellationToken)
            : null;
        // With the switch on, an unknown code is not read a second time (the joined read found no entry: there is none).
        var found = oidc.Value.CodeGrantReadsAccountWithCode ? withPerson?.Entry : await entries.FindCodeAsync(hashed, context.CancellationToken);
        if (found is not
            {
                Type: TokenTypeIdentifiers.Private.AuthorizationCode, Status: Statuses.Valid, Payload: { Length: > 0 } payload,
                AuthorizationId: { Length: > 0 } authorizationId, AuthorizationStatus: Statuses.Valid,
            } entry
            || !string.Equals(entry.ReferenceId, hashed, StringComparison.Ordinal)
            || entry.ApplicationId != snapshot.Application.Id
            || entry.ExpirationDate is not { } expires || Utc(expires) + skew < now)
        {
            return false;
        }

        // OpenIddict's own validation of the code's payload, as its ValidateAuthorizationCode dispatches it once the reference
        // is resolved; its three entry handlers skip this one validation (SkipReadCodeEntry), the entry having been read above.
        var validation = new ValidateTokenContext(context.Transaction)
        {
            CancellationToken = context.CancellationToken,
            Token = payload,
            ValidTokenTypes = { TokenTypeIdentifiers.Private.AuthorizationCode },
        };
        context.Transaction.SetProperty(EntryReadProperty, entry.Id);
        try
        {
            await dispatcher.DispatchAsync(validation);
        }
        finally
        {
            context.Transaction.Properties.Remove(EntryReadProperty);
        }

        if (validation.IsRejected || validation.IsRequestHandled || validation.IsRequestSkipped
            || validation.Principal is not { } presented
            || presented.GetTokenType() != TokenTypeIdentifiers.Private.AuthorizationCode
            || presented.GetTokenId() != entry.Id)
        {
            return false;
        }

        // RestoreTokenEntryProperties: the entry's dates and ids on the principal.
        presented.SetCreationDate(entry.CreationDate is { } created ? Utc(created) : null)
            .SetExpirationDate(Utc(expires))
            .SetAuthorizationId(authorizationId)
            .SetTokenId(entry.Id)
            .SetTokenType(entry.Type);

        // ValidatePresenters (the code was issued to this client), ValidateRedirectUri (RFC 6749 section 4.1.3: identical to
        // the authorization request's), ValidateCodeVerifier (RFC 7636 section 4.6, S256 only).
        if (presented.GetPresenters() is not { IsDefaultOrEmpty: false } presenters || !presenters.Contains(clientId)
            || presented.GetClaim(Claims.Private.RedirectUri) is not { Length: > 0 } boundRedirectUri
            || !string.Equals(boundRedirectUri, redirectUri, StringComparison.Ordinal)
            || presented.GetClaim(Claims.Private.CodeChallengeMethod) != CodeChallengeMethods.Sha256
            || presented.GetClaim(Claims.Private.CodeChallenge) is not { Length: > 0 } challenge
            || !VerifierMatches(verifier, challenge))
        {
            return false;
        }

        // The token endpoint's own checks and claims; a refusal is the normal path's. The person read with the entry only
        // if it is the validated code's sub's (the entry stores the code's sub; otherwise, or with no account found, the
        // grant reads the account itself); the session's state is then checked by the redemption (decision.Conditions).
        var readWithCode = withPerson is { Person: { } person, Subject: { Length: > 0 } stored }
            && string.Equals(presented.GetClaim(Claims.Subject), stored, StringComparison.Ordinal) ? person : null;
        var decision = await TokenEndpoint.EvaluateGrantAsync(http.HttpContext, request, presented, context.CancellationToken, readWithCode);
        // A decision made from the person read with the code must carry the conditions the redemption checks (the session).
        if (decision.SignIn is not { } principal || (readWithCode is not null && decision.Conditions is null))
        {
            return false;
        }

        // The sign-in principal as OpenIddict's sign-in completes it; a grant without an authorization (OpenIddict would
        // create an ad-hoc one): the normal path.
        SignInTokens.PrepareSignIn(principal, presented, clientId);
        if (principal.GetAuthorizationId() != authorizationId
            || (principal.HasScope(Scopes.OfflineAccess) && !client.RefreshGrant))
        {
            return false;
        }

        var issued = SignInTokens.Prepare(principal, clientId, issuerUri.AbsoluteUri, options, client, identityToken: true);

        // The code's single use: redeemed with the first refresh token's entry in one command, or alone; not cancelled with
        // the request (a redemption is not left half done). Not redeemed here: nothing written, the normal path decides.
        var redeemedAt = clock.GetUtcNow().UtcDateTime;
        if (issued.Refresh is { } refresh)
        {
            var entryId = Guid.NewGuid().ToString();
            if (!await entries.TryRedeemCodeAndInsertAsync(entry.Id, redeemedAt, entryId, snapshot.Application.Id,
                    refresh.GetAuthorizationId(), refresh.GetClaim(Claims.Subject), refresh.GetCreationDate()?.UtcDateTime,
                    refresh.GetExpirationDate()?.UtcDateTime, CancellationToken.None, decision.Conditions))
            {
                return false;
            }

            refresh.SetTokenId(entryId);
        }
        else if (!await entries.TryRedeemCodeAsync(entry.Id, redeemedAt, CancellationToken.None, decision.Conditions))
        {
            return false;
        }

        await SignInTokens.AnswerAsync(context, dispatcher, aspNetCore, audit, keys, signing.Access, signing.Identity, issued, GrantTypes.AuthorizationCode, clientId, policy,
            decision.UserId, principal, () => metrics.FastPathCode(clientId), oidc.Value.DirectSignInTokens, client.WritesResponse);
        return true;
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    /// <summary>RFC 7636 section 4.1: code-verifier = 43*128unreserved (ALPHA / DIGIT / "-" / "." / "_" / "~").</summary>
    internal static bool IsVerifier(string verifier) =>
        verifier.Length is >= 43 and <= 128
        && !verifier.AsSpan().ContainsAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");

    /// <summary>RFC 7636 section 4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge, in constant time.</summary>
    private static bool VerifierMatches(string verifier, string challenge)
    {
        var computed = Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
        return CryptographicOperations.FixedTimeEquals(computed, Encoding.ASCII.GetBytes(challenge));
    }

    /// <summary>
    /// Active (the handler runs) except in the validation of a code's payload whose entry the fast path has read: OpenIddict's
    /// RestoreTokenEntryProperties, ValidateTokenEntry and ValidateAuthorizationEntry would read it again.
    /// </summary>
    public sealed class SkipReadCodeEntry : IOpenIddictServerHandlerFilter<ValidateTokenContext>
    {
        public ValueTask<bool> IsActiveAsync(ValidateTokenContext context) =>
            new(context.Transaction.GetProperty<string>(EntryReadProperty) is null
                || context.ValidTokenTypes.Count != 1 || !context.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.AuthorizationCode));
    }

    /// <summary>Puts <see cref="SkipReadCodeEntry"/> on OpenIddict's three entry handlers of token validation.</summary>
    internal static void FilterEntryHandlers(OpenIddictServerOptions options)
    {
        RefreshGrantRegistration.Filter<ValidateTokenContext, SkipReadCodeEntry>(options, typeof(OpenIddictServerHandlers.Protection.RestoreTokenEntryProperties));
        RefreshGrantRegistration.Filter<ValidateTokenContext, SkipReadCodeEntry>(options, typeof(OpenIddictServerHandlers.Protection.ValidateTokenEntry));
        RefreshGrantRegistration.Filter<ValidateTokenContext, SkipReadCodeEntry>(options, typeof(OpenIddictServerHandlers.Protection.ValidateAuthorizationEntry));
    }
}
