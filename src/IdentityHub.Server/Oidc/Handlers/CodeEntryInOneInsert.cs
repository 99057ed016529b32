using System.Security.Cryptography;
using IdentityHub.Server.Audit;
using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
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
public sealed class CodeEntryInOneInsert(IOpenIddictApplicationManager applications, IOpenIddictTokenManager tokens,
    IOptions<OidcOptions> options) : IOpenIddictServerHandler<GenerateTokenContext>
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

    /// <summary>Transaction property: the code's entry, built and not yet inserted, and its client's key when set by key.</summary>
    private const string PendingEntry = "ih.code_entry";

    /// <summary>
    /// The foreign key column (an EF Core shadow property) of OpenIddict's authorization and token entities naming their
    /// application (<see cref="OidcOptions.CodeApplicationByKey"/>).
    /// </summary>
    internal const string ApplicationKey = "ApplicationId";

    private sealed record PendingCode(HubToken Entry, string? ApplicationId);

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
        string? applicationId = null;
        if (!string.IsNullOrEmpty(context.ClientId))
        {
            var application = await applications.FindByClientIdAsync(context.ClientId)
                ?? throw new InvalidOperationException("The client of a code being issued is unknown.");
            applicationId = await applications.GetIdAsync(application);
        }

        // By key: the store would load the application to set the navigation (Insert sets the foreign key instead).
        var byKey = options.Value.CodeApplicationByKey && applicationId is not null;
        descriptor.ApplicationId = byKey ? null : applicationId;
        var entry = new HubToken();
        await tokens.PopulateAsync(entry, descriptor);
        context.Principal.SetTokenId(entry.Id);
        context.Transaction.SetProperty(PendingEntry, new PendingCode(entry, byKey ? applicationId : null));
        // OpenIddict's CreateTokenEntry and AttachTokenPayload are skipped (their filters read these); Insert does both.
        context.CreateTokenEntry = false;
        context.PersistTokenPayload = false;
    }

    /// <summary>
    /// The code's entry, inserted with its payload and (hashed by the manager) reference id; on PostgreSQL with
    /// <see cref="OidcOptions.CodeSaveInImplicitTransaction"/>, in one batch without BEGIN/COMMIT (with what the request
    /// staged with it: the ad-hoc authorization and participant). Only when everything the save carries is an insert: an
    /// update's concurrency check (0 rows) is made by EF Core after the batch, which PostgreSQL has committed by then. The
    /// inserts are a handful of statements, far below EF Core's batch size, so they go as one batch; should EF Core ever
    /// split them, each batch would commit on its own, and the participant has no foreign key to the authorization (only the
    /// code's entry has): a participant or authorization could then be left without its code, the state
    /// <see cref="OidcOptions.AdHocAuthorizationWithCode"/> off leaves when the code's save fails.
    /// </summary>
    public sealed class Insert(IOpenIddictTokenManager tokens, IdentityHubDbContext db, IOptions<OidcOptions> options)
        : IOpenIddictServerHandler<GenerateTokenContext>
    {
        public async ValueTask HandleAsync(GenerateTokenContext context)
        {
            if (context.Transaction.GetProperty<PendingCode>(PendingEntry) is not { Entry: var entry } pending)
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
            var database = db.Database;
            var behavior = database.AutoTransactionBehavior;
            var tracker = db.ChangeTracker;
            var autoDetect = tracker.AutoDetectChangesEnabled;
            if (options.Value.CodeSaveInImplicitTransaction && database.CurrentTransaction is null && AuditChain.IsPostgres(db))
            {
                if (autoDetect)
                {
                    // Detected once here, for OnlyInserts' states and for the save (which does not detect again with it off).
                    tracker.DetectChanges();
                    tracker.AutoDetectChangesEnabled = false;
                }

                if (OnlyInserts(db))
                {
                    database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
                }
            }

            try
            {
                if (pending.ApplicationId is { } applicationId)
                {
                    // Tracked first, to carry the foreign key (a shadow property); the store's Add leaves it Added.
                    db.Add(entry);
                    db.Entry(entry).Property(ApplicationKey).CurrentValue = applicationId;
                }

                await tokens.CreateAsync(entry);
            }
            catch when (pending.ApplicationId is not null && db.Entry(entry).State == EntityState.Added)
            {
                // Refused before or by the save: not left in the unit of work for a later save of the request to insert.
                db.Entry(entry).State = EntityState.Detached;
                throw;
            }
            finally
            {
                database.AutoTransactionBehavior = behavior;
                tracker.AutoDetectChangesEnabled = autoDetect;
            }

            context.Token = referenceId;
        }

        /// <summary>
        /// Whether the save would only insert (a handful of entries in an authorize request's context). The changes were
        /// detected once before (the save then does not detect them again): the states are the ones the save writes.
        /// </summary>
        private static bool OnlyInserts(IdentityHubDbContext db)
        {
            foreach (var tracked in db.ChangeTracker.Entries())
            {
                if (tracked.State is EntityState.Modified or EntityState.Deleted)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
