using IdentityHub.Server.Data;
using IdentityHub.Server.Registry;
using Microsoft.EntityFrameworkCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Server.Oidc.RefreshTokens;

/// <summary>What the refresh grant reads of a refresh token's entry and of the authorization it hangs from.</summary>
public sealed record RefreshTokenEntry(
    string Id,
    string? Type,
    string? Status,
    bool HasReferenceId,
    DateTime? CreationDate,
    DateTime? ExpirationDate,
    string? AuthorizationId,
    string? AuthorizationStatus);

/// <summary>
/// What the code grant's fast path (Oidc/Handlers/AuthorizationCodeFastPath) reads of a code's entry, found by its hashed
/// reference id, in one untracked query: what OpenIddict's ValidateReferenceTokenIdentifier, RestoreTokenEntryProperties,
/// ValidateTokenEntry and ValidateAuthorizationEntry read of it in three tracked ones.
/// </summary>
public sealed record CodeEntry(
    string Id,
    string? Type,
    string? Status,
    string? ReferenceId,
    string? Payload,
    string? ApplicationId,
    DateTime? CreationDate,
    DateTime? ExpirationDate,
    string? AuthorizationId,
    string? AuthorizationStatus);

/// <summary>
/// The refresh grant's token-entry work in as few and as small statements as it needs, instead of OpenIddict's
/// generic store (which reads the entry tracked with its whole application and authorization, rewrites every column of
/// the entry under its concurrency token to redeem it, and inserts the new entry through the change tracker):
/// <list type="number">
/// <item>the redemption as one conditional UPDATE (<c>... WHERE "Id" = @id AND "Status" = 'valid' AND ...</c>: a
/// refresh-token entry, no reference id, its authorization valid) whose row count says whether this request redeemed
/// the token: of two concurrent redemptions of one refresh token exactly one wins, the other one is reuse (RFC 9700
/// section 4.14.2);</item>
/// <item>the new refresh token's entry as one INSERT of its columns, in the same command as the redemption;</item>
/// <item>only when the redemption failed: one untracked read of the entry's status, type, dates and authorization,
/// with the authorization's status (a LEFT JOIN; an EF compiled query, <see cref="RefreshTokenQueries"/>), to say why
/// and to detect reuse.</item>
/// </list>
/// The statements are plain SQL over the same table and columns as OpenIddict's store on both providers (quoted
/// identifiers; dates as parameters, which Npgsql writes as timestamptz and Microsoft.Data.Sqlite as the text EF Core
/// stores), and go through the same interceptors (the SQLite write gate).
/// </summary>
public sealed class RefreshTokenEntries(IdentityHubDbContext db, RefreshTokenQueries queries)
{
    public Task<RefreshTokenEntry?> FindAsync(string id, CancellationToken cancellationToken) => queries.Find(db, id, cancellationToken);

    /// <summary>An authorization code's entry by its hashed reference id (untracked, with its authorization's status), or null.</summary>
    public Task<CodeEntry?> FindCodeAsync(string hashedReferenceId, CancellationToken cancellationToken) =>
        queries.FindCode(db, hashedReferenceId, cancellationToken);

    /// <summary>
    /// Marks the entry redeemed if it is a valid refresh-token entry of a self-contained token whose authorization (if
    /// any) is valid; false when it was not (unknown, redeemed, revoked, or its authorization revoked, also meanwhile):
    /// the checks of OpenIddict's ValidateTokenEntry and ValidateAuthorizationEntry in the redemption's own statement.
    /// </summary>
    public async Task<bool> TryRedeemAsync(string id, DateTime redeemedAtUtc, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlRawAsync(Redeem,
            RedeemArguments(id, redeemedAtUtc, Guid.NewGuid().ToString(), TokenTypeIdentifiers.RefreshToken)!, cancellationToken) == 1;

    /// <summary>
    /// Rotation in one round trip: marks the presented entry redeemed under the conditions of <see cref="TryRedeemAsync"/>
    /// and, only then, inserts the new refresh token's entry; false when the presented entry could not be redeemed, and
    /// then nothing is inserted. Two statements in one command: the INSERT is conditioned on the concurrency token
    /// this UPDATE wrote, so that it follows exactly this request's redemption (a concurrent request's redemption writes
    /// another token), on both providers. On PostgreSQL the command is one implicit transaction (Npgsql sends both
    /// statements before one Sync): a failed INSERT undoes the redemption and the client may retry with its token; on
    /// SQLite each statement commits on its own, as the separate statements did before.
    /// </summary>
    public Task<bool> TryRedeemAndInsertAsync(string redeemedId, DateTime redeemedAtUtc, string id, string? applicationId,
        string? authorizationId, string? subject, DateTime? creationDateUtc, DateTime? expirationDateUtc, CancellationToken cancellationToken) =>
        TryRedeemAndInsertAsync(RedeemAndInsert, TokenTypeIdentifiers.RefreshToken, redeemedId, redeemedAtUtc, id, applicationId, authorizationId,
            subject, creationDateUtc, expirationDateUtc, cancellationToken);

    /// <summary>
    /// An authorization code's redemption (RFC 6749 section 4.1.2: used once) as one conditional UPDATE, under the conditions
    /// of OpenIddict's ValidateTokenEntry and ValidateAuthorizationEntry (a valid code entry, a reference token's, whose
    /// authorization, if any, is valid); false when it was not redeemed by this call (also when a concurrent request redeemed
    /// it first). For the code grant's fast path (Oidc/Handlers/AuthorizationCodeFastPath) when no refresh token follows.
    /// </summary>
    public async Task<bool> TryRedeemCodeAsync(string id, DateTime redeemedAtUtc, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlRawAsync(RedeemCode,
            RedeemArguments(id, redeemedAtUtc, Guid.NewGuid().ToString(), TokenTypeIdentifiers.Private.AuthorizationCode)!, cancellationToken) == 1;

    /// <summary>
    /// The code's redemption (<see cref="TryRedeemCodeAsync"/>) and the first refresh token's entry in one command, as
    /// <see cref="TryRedeemAndInsertAsync(string, DateTime, string, string?, string?, string?, DateTime?, DateTime?, CancellationToken)"/>
    /// does for a rotation.
    /// </summary>
    public Task<bool> TryRedeemCodeAndInsertAsync(string codeId, DateTime redeemedAtUtc, string id, string? applicationId,
        string? authorizationId, string? subject, DateTime? creationDateUtc, DateTime? expirationDateUtc, CancellationToken cancellationToken) =>
        TryRedeemAndInsertAsync(RedeemCodeAndInsert, TokenTypeIdentifiers.Private.AuthorizationCode, codeId, redeemedAtUtc, id, applicationId,
            authorizationId, subject, creationDateUtc, expirationDateUtc, cancellationToken);

    private async Task<bool> TryRedeemAndInsertAsync(string redeemAndInsert, string redeemedType, string redeemedId, DateTime redeemedAtUtc, string id,
        string? applicationId, string? authorizationId, string? subject, DateTime? creationDateUtc, DateTime? expirationDateUtc,
        CancellationToken cancellationToken)
    {
        var redemption = Guid.NewGuid().ToString();
        object?[] arguments =
        [
            .. RedeemArguments(redeemedId, redeemedAtUtc, redemption, redeemedType),
            .. NewEntryArguments(id, applicationId, authorizationId, subject, creationDateUtc, expirationDateUtc),
        ];
        var rows = await db.Database.ExecuteSqlRawAsync(redeemAndInsert, arguments!, cancellationToken);
        return rows switch
        {
            // SQLite and Npgsql both count the rows of every statement of the command: the redemption and the insert.
            2 => true,
            0 => false,
            // SQLite only (each statement commits on its own): the entry was redeemed but changed again (revoked with its
            // grant) before the INSERT; nothing new was stored, and the caller refuses with the entry's reason.
            1 => false,
            _ => throw new InvalidOperationException($"Redeeming token entry {redeemedId} changed {rows} rows (expected 2 or 0)."),
        };
    }

    /// <summary>Inserts a new, valid refresh token entry.</summary>
    public Task InsertAsync(string id, string? applicationId, string? authorizationId, string? subject,
        DateTime? creationDateUtc, DateTime? expirationDateUtc, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlRawAsync(Insert + " VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8})",
            NewEntryArguments(id, applicationId, authorizationId, subject, creationDateUtc, expirationDateUtc)!, cancellationToken);

    /// <summary>
    /// The redemption (arguments from <see cref="RedeemArguments"/>, {0} to {5}): a valid entry of type {5} whose
    /// authorization, if any, is valid becomes redeemed and gets the concurrency token {2}; a refresh token's entry is a
    /// self-contained token's (no reference id), a code's a reference token's.
    /// </summary>
    private static string RedeemStatement(bool referenceToken) =>
        $$"""
        UPDATE "OpenIddictTokens" SET "Status" = {3}, "RedemptionDate" = {1}, "ConcurrencyToken" = {2}
        WHERE "Id" = {0} AND "Status" = {4} AND "Type" = {5} AND "ReferenceId" IS {{(referenceToken ? "NOT NULL" : "NULL")}}
          AND ("AuthorizationId" IS NULL OR EXISTS (SELECT 1 FROM "OpenIddictAuthorizations" AS a WHERE a."Id" = "OpenIddictTokens"."AuthorizationId" AND a."Status" = {4}));

        """;

    private static readonly string Redeem = RedeemStatement(referenceToken: false);

    private static readonly string RedeemCode = RedeemStatement(referenceToken: true);

    /// <summary>A redemption followed by the new entry's INSERT ({6} to {14}), conditioned on the concurrency token it wrote.</summary>
    private static string AndInsert(string redeem) =>
        redeem + Insert + " SELECT {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13}, {14} " +
        "WHERE EXISTS (SELECT 1 FROM \"OpenIddictTokens\" WHERE \"Id\" = {0} AND \"ConcurrencyToken\" = {2})";

    private static readonly string RedeemAndInsert = AndInsert(Redeem);

    private static readonly string RedeemCodeAndInsert = AndInsert(RedeemCode);

    /// <summary>A new entry's columns, in the order of <see cref="NewEntryArguments"/>.</summary>
    private const string Insert =
        "INSERT INTO \"OpenIddictTokens\" (\"Id\", \"ApplicationId\", \"AuthorizationId\", \"ConcurrencyToken\", \"CreationDate\", " +
        "\"ExpirationDate\", \"Status\", \"Subject\", \"Type\")";

    private static object?[] RedeemArguments(string id, DateTime redeemedAtUtc, string concurrencyToken, string type) =>
        [id, redeemedAtUtc, concurrencyToken, Statuses.Redeemed, Statuses.Valid, type];

    private static object?[] NewEntryArguments(string id, string? applicationId, string? authorizationId, string? subject,
        DateTime? creationDateUtc, DateTime? expirationDateUtc) =>
        [id, applicationId, authorizationId, Guid.NewGuid().ToString(), creationDateUtc, expirationDateUtc, Statuses.Valid, subject,
            TokenTypeIdentifiers.RefreshToken];

    /// <summary>
    /// Reuse of a refresh token (RFC 9700 section 4.14.2): the authorization it hangs from is revoked with it, so that
    /// nothing issued under it works any more. Its token entries and its access tokens are revoked by the caller
    /// (<see cref="Revocation.HubTokenManager.RevokeByAuthorizationIdAsync"/>).
    /// </summary>
    public Task<int> RevokeAuthorizationAsync(string authorizationId, CancellationToken cancellationToken)
    {
        var revoked = Statuses.Revoked;
        return db.Database.ExecuteSqlAsync(
            $"""UPDATE "OpenIddictAuthorizations" SET "Status" = {revoked}, "ConcurrencyToken" = {Guid.NewGuid().ToString()} WHERE "Id" = {authorizationId} AND "Status" <> {revoked}""",
            cancellationToken);
    }
}

/// <summary>
/// The compiled query of <see cref="RefreshTokenEntries"/>. A compiled query belongs to the EF model it was first run
/// against, so the application holds it as a singleton (the tests run several applications with different providers
/// in one process), not in a static field.
/// </summary>
public sealed class RefreshTokenQueries
{
    public Func<IdentityHubDbContext, string, CancellationToken, Task<RefreshTokenEntry?>> Find { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string id, CancellationToken _) =>
            db.Set<HubToken>().AsNoTracking()
                .Where(t => t.Id == id)
                .Select(t => new RefreshTokenEntry(
                    t.Id!,
                    t.Type,
                    t.Status,
                    t.ReferenceId != null,
                    t.CreationDate,
                    t.ExpirationDate,
                    t.Authorization != null ? t.Authorization.Id : null,
                    t.Authorization != null ? t.Authorization.Status : null))
                .FirstOrDefault());

    public Func<IdentityHubDbContext, string, CancellationToken, Task<CodeEntry?>> FindCode { get; } =
        EF.CompileAsyncQuery((IdentityHubDbContext db, string referenceId, CancellationToken _) =>
            db.Set<HubToken>().AsNoTracking()
                .Where(t => t.ReferenceId == referenceId)
                .Select(t => new CodeEntry(
                    t.Id!,
                    t.Type,
                    t.Status,
                    t.ReferenceId,
                    t.Payload,
                    t.Application != null ? t.Application.Id : null,
                    t.CreationDate,
                    t.ExpirationDate,
                    t.Authorization != null ? t.Authorization.Id : null,
                    t.Authorization != null ? t.Authorization.Status : null))
                .FirstOrDefault());
}
