using System.Security.Cryptography;
using IdentityHub.Server.Registry;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// An authorization code's token entry written once, with its payload, instead of twice. OpenIddict 7.8 stores a code as
/// a reference token (RFC 6749 section 4.1.2: the code the client gets is a random reference, 256 bits, and the entry holds
/// the encrypted payload): its CreateTokenEntry inserts the entry before the payload exists (the payload carries the
/// entry's id), then AttachTokenPayload reads it back and rewrites every column of it under its concurrency token to add
/// the payload and the reference id: an INSERT and an UPDATE for every code. Here the entry is built (same descriptor,
/// same application, authorization, dates, status, subject and type as CreateTokenEntry) with its id before the payload is
/// generated, and inserted once after it, with the payload and the reference id, through the same token manager
/// (<see cref="IOpenIddictTokenManager.CreateAsync(object, CancellationToken)"/>: it hashes the reference id and
/// validates the entry exactly as for OpenIddict's own entries). The code the client receives is the reference id, as
/// before; the token endpoint finds, validates and redeems it unchanged (once: a second redemption is refused and
/// revokes what the code gave, RFC 6749 section 4.1.2, RFC 9700 section 4.5). If the payload's generation fails, nothing
/// is stored (before: an entry without payload was left behind).
/// Only codes; every other token type (and degraded mode, or token storage off) goes through OpenIddict's handlers.
/// </summary>
public sealed class CodeEntryInOneInsert(IOpenIddictApplicationManager applications, IOpenIddictTokenManager tokens)
    : IOpenIddictServerHandler<GenerateTokenContext>
{
    /// <summary>Runs just before OpenIddict's CreateTokenEntry: builds the entry and takes the code out of its two writes.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
            .UseScopedHandler<CodeEntryInOneInsert>()
            .SetOrder(OpenIddictServerHandlers.Protection.CreateTokenEntry.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>Runs where OpenIddict's AttachTokenPayload would (right after the payload is generated): the one INSERT.</summary>
    public static OpenIddictServerHandlerDescriptor InsertDescriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
            .UseScopedHandler<Insert>()
            .SetOrder(OpenIddictServerHandlers.Protection.AttachTokenPayload.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>Transaction property: the code's entry, built and not yet inserted.</summary>
    private const string PendingEntry = "ih.code_entry";

    /// <summary>
    /// Whether a code's entry is saved through the request's DbContext, by this handler or by OpenIddict's
    /// CreateTokenEntry: not with token storage off or in degraded mode.
    /// </summary>
    internal static bool SavesThroughDbContext(OpenIddictServerOptions options) => !options.EnableDegradedMode && !options.DisableTokenStorage;

    public async ValueTask HandleAsync(GenerateTokenContext context)
    {
        // Exactly the case OpenIddict's GenerateAuthorizationCode sets up: entry created, payload persisted, a reference token.
        if (context.TokenType != TokenTypeIdentifiers.Private.AuthorizationCode
            || !context.CreateTokenEntry || !context.PersistTokenPayload || !context.IsReferenceToken
            || !SavesThroughDbContext(context.Options)
            || context.Principal is null)
        {
            return;
        }

        var descriptor = new OpenIddictTokenDescriptor
        {
            AuthorizationId = context.Principal.GetAuthorizationId(),
            CreationDate = context.Principal.GetCreationDate(),
            ExpirationDate = context.Principal.GetExpirationDate(),
            Principal = context.Principal,
            Status = Statuses.Valid,
            Subject = context.Principal.GetClaim(Claims.Subject),
            Type = context.TokenType,
        };
        if (!string.IsNullOrEmpty(context.ClientId))
        {
            var application = await applications.FindByClientIdAsync(context.ClientId)
                ?? throw new InvalidOperationException("The client of a code being issued is unknown.");
            descriptor.ApplicationId = await applications.GetIdAsync(application);
        }

        var entry = new HubToken();
        await tokens.PopulateAsync(entry, descriptor);
        context.Principal.SetTokenId(entry.Id);
        context.Transaction.SetProperty(PendingEntry, entry);
        // OpenIddict's CreateTokenEntry and AttachTokenPayload are skipped (their filters read these); Insert does both.
        context.CreateTokenEntry = false;
        context.PersistTokenPayload = false;
    }

    /// <summary>The code's entry, inserted with its payload and (hashed by the manager) reference id.</summary>
    public sealed class Insert(IOpenIddictTokenManager tokens) : IOpenIddictServerHandler<GenerateTokenContext>
    {
        public async ValueTask HandleAsync(GenerateTokenContext context)
        {
            if (context.Transaction.GetProperty<HubToken>(PendingEntry) is not { } entry)
            {
                return;
            }

            context.Transaction.Properties.Remove(PendingEntry);
            if (string.IsNullOrEmpty(context.Token))
            {
                throw new InvalidOperationException("No payload was generated for the authorization code.");
            }

            // The reference the client receives: 256 random bits, as OpenIddict's AttachTokenPayload makes them.
            var referenceId = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
            entry.Payload = context.Token;
            entry.ReferenceId = referenceId;
            await tokens.CreateAsync(entry);
            context.Token = referenceId;
        }
    }
}
