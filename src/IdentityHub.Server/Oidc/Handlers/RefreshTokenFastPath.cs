using System.Buffers.Text;
using System.Text.Json;
using IdentityHub.Server.Audit.Handlers;
using IdentityHub.Server.Data;
using IdentityHub.Server.Operations;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
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
/// <see cref="RefreshTokens.RestoreRefreshTokenEntry"/>, no database read), and presented by the client it was issued to
/// (its presenters name the client, as OpenIddict's ValidatePresenters requires);</item>
/// <item>the grant: <see cref="TokenEndpoint.EvaluateGrantAsync"/>, the token endpoint's own checks and claims (account,
/// lock-out, assurance, session, mandate; released claims, pairwise sub, sid, auth_time, acr, amr);</item>
/// <item>the answer: OpenIddict's own sign-in (ProcessSignInContext), exactly as the pass-through's Results.SignIn reaches
/// it: the same access, ID and refresh tokens, the redemption of the presented token with the new entry in one round trip
/// and the reuse detection (<see cref="RefreshTokens.RefreshGrant"/>: a token presented again revokes its grant, RFC 9700
/// section 4.14.2), the awaited token.refreshed and claims.released events (<see cref="AuditIssuedTokens"/>), and the
/// response (Cache-Control: no-store, Pragma: no-cache, RFC 6749 section 5.1), or on a refused redemption the error.</item>
/// </list>
/// Pinned against the normal path by the OidcProtocolTests RefreshTokenFastPath_* tests. Oidc:RefreshTokenFastPath switches it
/// off; identityhub.refresh.fast_path counts its answers.
/// </summary>
public sealed class RefreshTokenFastPath(
    ClientCache clients,
    IdentityHubDbContext db,
    ClientPolicies policies,
    HubMetrics metrics,
    IOpenIddictServerDispatcher dispatcher,
    IOptions<OidcOptions> oidc,
    TimeProvider clock) : IOpenIddictServerHandler<ProcessRequestContext>
{
    /// <summary>After the endpoint, the issuer and the transport security check (and the client_credentials fast path); before OpenIddict extracts the token request.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenRequest>()
            .UseScopedHandler<RefreshTokenFastPath>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ValidateTransportSecurityRequirement.Descriptor.Order + 600)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

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
        string? grantType = null, refreshToken = null, formId = null, formSecret = null;
        foreach (var (name, values) in form)
        {
            if (values.Count != 1 || string.IsNullOrEmpty(values[0]))
            {
                return;
            }

            switch (name)
            {
                case Parameters.GrantType: grantType = values[0]; break;
                case Parameters.RefreshToken: refreshToken = values[0]; break;
                case Parameters.ClientId: formId = values[0]; break;
                case Parameters.ClientSecret: formSecret = values[0]; break;
                default: return; // scope, resource, audience, claims, anything else: the normal path
            }
        }

        if (form.Files.Count != 0 || grantType != GrantTypes.RefreshToken || refreshToken is null || !IsDirectlyEncrypted(refreshToken))
        {
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
        if (snapshot is null || !Suits(snapshot, context.Options)
            || !ClientCredentialsFastPath.SecretIsValid(snapshot, secret, clock)
            || await policies.FindAsync(clientId, context.CancellationToken) is not { ClientActive: true, DepartmentActive: true })
        {
            return;
        }

        // The request as OpenIddict's ExtractTokenRequest reads it, naming its client whatever the method (as
        // ExtractBasicAuthenticationCredentials does), so that the token validation, the sign-in, the audit, metrics and
        // traces see what they see on the normal path.
        var request = new OpenIddictRequest();
        foreach (var (name, values) in form)
        {
            request.SetParameter(name, values[0]);
        }

        request.ClientId = clientId;
        request.ClientSecret = secret;

        context.Transaction.Request = request;
        var handled = false;
        try
        {
            handled = await AnswerAsync(context, http, request, clientId, refreshToken);
        }
        finally
        {
            if (!handled)
            {
                // Declined: the normal path starts from the request as it came.
                context.Transaction.Request = null;
                context.Transaction.Properties.Remove(typeof(ProcessAuthenticationContext).FullName!);
            }
        }
    }

    private async Task<bool> AnswerAsync(ProcessRequestContext context, HttpRequest http, OpenIddictRequest request, string clientId,
        string refreshToken)
    {
        // OpenIddict's own validation of the presented refresh token, as its ValidateRefreshToken dispatches it.
        var validation = new ValidateTokenContext(context.Transaction)
        {
            CancellationToken = context.CancellationToken,
            Token = refreshToken,
            ValidTokenTypes = { TokenTypeIdentifiers.RefreshToken },
        };
        await dispatcher.DispatchAsync(validation);
        if (validation.IsRejected || validation.IsRequestHandled || validation.IsRequestSkipped
            || validation.Principal is not { } principal
            || principal.GetTokenType() != TokenTypeIdentifiers.RefreshToken
            // OpenIddict's ValidatePresenters: the token was issued to this client (a token without presenters: the normal path).
            || principal.GetPresenters() is not { IsDefaultOrEmpty: false } presenters || !presenters.Contains(clientId))
        {
            return false;
        }

        // The token endpoint's own checks and claims; a refusal (and its reuse detection) is the normal path's.
        var decision = await TokenEndpoint.EvaluateGrantAsync(http.HttpContext, request, principal, context.CancellationToken);
        if (decision.SignIn is null)
        {
            return false;
        }

        // From here on the answer is this path's: what the normal path's authentication left for its sign-in handlers
        // (the presented token's principal: its id for the redemption, its private claims restored into the new tokens).
        var authentication = new ProcessAuthenticationContext(context.Transaction)
        {
            CancellationToken = context.CancellationToken,
            RefreshToken = refreshToken,
            RefreshTokenPrincipal = principal,
        };
        context.Transaction.SetProperty(typeof(ProcessAuthenticationContext).FullName!, authentication);
        context.Transaction.Properties[typeof(AuthenticationProperties).FullName!] = new AuthenticationProperties();
        AuditHttpItems.SetUser(http.HttpContext, decision.UserId!);

        // Counted as the answer starts (before any byte leaves), only when it is the 200 of a success.
        http.HttpContext.Response.OnStarting(() =>
        {
            if (http.HttpContext.Response.StatusCode == StatusCodes.Status200OK)
            {
                metrics.FastPathRefresh(clientId);
            }

            return Task.CompletedTask;
        });

        // OpenIddict's sign-in, as OpenIddictServerAspNetCoreHandler.SignInAsync runs it for the pass-through's Results.SignIn.
        var signIn = new ProcessSignInContext(context.Transaction)
        {
            CancellationToken = context.CancellationToken,
            Principal = decision.SignIn,
            Response = new OpenIddictResponse(),
        };
        await dispatcher.DispatchAsync(signIn);
        if (signIn.IsRejected && !signIn.IsRequestHandled && !signIn.IsRequestSkipped)
        {
            // A refused redemption (reuse, a revoked grant): the error as the pass-through's sign-in answers it.
            var error = new ProcessErrorContext(context.Transaction)
            {
                CancellationToken = context.CancellationToken,
                Error = signIn.Error ?? Errors.InvalidRequest,
                ErrorDescription = signIn.ErrorDescription,
                ErrorUri = signIn.ErrorUri,
                Response = new OpenIddictResponse(),
            };
            await dispatcher.DispatchAsync(error);
            if (!error.IsRequestHandled && !error.IsRequestSkipped)
            {
                throw new InvalidOperationException("OpenIddict did not write the token error response.");
            }
        }
        else if (!signIn.IsRequestHandled && !signIn.IsRequestSkipped)
        {
            throw new InvalidOperationException("OpenIddict did not write the token response.");
        }

        context.HandleRequest();
        return true;
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

    /// <summary>
    /// Whether the client and the server's options are ones the fast path takes (memoised per cache entry and options
    /// instance): anything under which the normal path would decide otherwise (degraded mode, no token or authorization
    /// storage, reference refresh tokens, permissions ignored, the grant not enabled) or a client of another kind (a key set,
    /// requirements other than PKCE, no token endpoint or refresh_token permission) is left to the normal path.
    /// </summary>
    private static bool Suits(ClientSnapshot snapshot, OpenIddictServerOptions options)
    {
        if (snapshot.RefreshFastPath is Derived known && known.Options == options)
        {
            return known.Suitable;
        }

        var suitable = Evaluate(snapshot.Application, options);
        snapshot.RefreshFastPath = new Derived(options, suitable);
        return suitable;
    }

    private static bool Evaluate(HubApplication application, OpenIddictServerOptions options)
    {
        if (options.IgnoreEndpointPermissions || options.IgnoreGrantTypePermissions || options.EnableDegradedMode
            || options.DisableTokenStorage || options.DisableAuthorizationStorage || options.UseReferenceRefreshTokens
            || !options.GrantTypes.Contains(GrantTypes.RefreshToken)
            || application.ClientType != ClientTypes.Confidential
            || application.ClientId is not { Length: > 0 } || !string.IsNullOrEmpty(application.JsonWebKeySet))
        {
            return false;
        }

        try
        {
            var requirements = string.IsNullOrEmpty(application.Requirements) ? [] : JsonSerializer.Deserialize<string[]>(application.Requirements) ?? [];
            if (requirements.Any(r => r != Requirements.Features.ProofKeyForCodeExchange))
            {
                return false;
            }

            var permissions = string.IsNullOrEmpty(application.Permissions) ? [] : JsonSerializer.Deserialize<string[]>(application.Permissions) ?? [];
            return permissions.Contains(Permissions.Endpoints.Token) && permissions.Contains(Permissions.GrantTypes.RefreshToken);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private sealed record Derived(OpenIddictServerOptions Options, bool Suitable);
}
