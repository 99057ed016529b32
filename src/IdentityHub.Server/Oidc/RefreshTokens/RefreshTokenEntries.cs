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
/// What must still hold in the database for a refresh grant to be redeemed (<see cref="RefreshTokenEntries.TryRedeemAndInsertAsync"/>
/// with conditions): the account <paramref name="UserId"/> exists, its stored assurance level is at least
/// <paramref name="MinimumStoredAssuranceLevel"/>, it is not locked out at <paramref name="Now"/>, and the SSO session
/// <paramref name="SessionId"/> was not ended.
/// </summary>
public sealed record GrantConditions(string UserId, int MinimumStoredAssuranceLevel, DateTimeOffset Now, string SessionId)
{
    /// <summary>
    /// The conditions for a client whose minimum assurance level is <paramref name="clientMinimum"/> (at most
    /// <see cref="Identity.AssuranceLevels.Maximum"/>). <see cref="Identity.AssuranceLevels.Of"/> clamps the stored level into
    /// [Minimum, Maximum]: a client minimum at or below the lowest level holds for every account, one above it is the
    /// stored level's own threshold.
    /// </summary>
    public static GrantConditions Of(string userId, int clientMinimum, DateTimeOffset now, string sessionId) =>
        new(userId, clientMinimum <= Identity.AssuranceLevels.Minimum ? int.MinValue : clientMinimum, now, sessionId);
}

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
/// stores). Outside a transaction of the context, on PostgreSQL through <see cref="MultiplexedStatements"/> (the statements of
/// concurrent requests sent together), on SQLite through <see cref="SqliteTokenStatements"/> (committed together, each behind
/// its savepoint); inside one, or with those switched off, on the context (on SQLite through its write gate).
/// </summary>
public sealed class RefreshTokenEntries(IdentityHubDbContext db, RefreshTokenQueries queries, MultiplexedStatements multiplexed,
    SqliteTokenStatements grouped)
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
        await ExecuteAsync(Redeem, RedeemArguments(id, redeemedAtUtc, Guid.NewGuid().ToString(), TokenTypeIdentifiers.RefreshToken), cancellationToken) == 1;

    /// <summary>
    /// Rotation in one round trip: marks the presented entry redeemed under the conditions of <see cref="TryRedeemAsync"/>
    /// and, only then, inserts the new refresh token's entry; false when the presented entry could not be redeemed, and
    /// then nothing is inserted. On PostgreSQL one statement, the INSERT fed by the UPDATE's RETURNING (a
    /// data-modifying WITH), so one transaction: a failed INSERT undoes the redemption and the client may retry with its
    /// token. On SQLite (no data-modifying WITH) two statements in one command, the INSERT conditioned on the concurrency
    /// token this UPDATE wrote, so that it follows exactly this request's redemption (a concurrent request's redemption
    /// writes another token), in one transaction of their own (unless the caller has one), with the same effect.
    /// With <paramref name="grant"/> the redemption also requires the grant's account and session to be still valid
    /// (<see cref="GrantConditions"/>), so that the token endpoint's checks of them are made by the database in the same
    /// statement (the refresh fast path: one round trip); false then also when they no longer hold.
    /// </summary>
    public Task<bool> TryRedeemAndInsertAsync(string redeemedId, DateTime redeemedAtUtc, string id, string? applicationId,
        string? authorizationId, string? subject, DateTime? creationDateUtc, DateTime? expirationDateUtc, CancellationToken cancellationToken,
        GrantConditions? grant = null) =>
        TryRedeemAndInsertAsync(referenceToken: false, TokenTypeIdentifiers.RefreshToken, redeemedId, redeemedAtUtc, id, applicationId,
            authorizationId, subject, creationDateUtc, expirationDateUtc, grant, cancellationToken);

    /// <summary>
    /// An authorization code's redemption (RFC 6749 section 4.1.2: used once) as one conditional UPDATE, under the conditions
    /// of OpenIddict's ValidateTokenEntry and ValidateAuthorizationEntry (a valid code entry, a reference token's, whose
    /// authorization, if any, is valid); false when it was not redeemed by this call (also when a concurrent request redeemed
    /// it first). For the code grant's fast path (Oidc/Handlers/AuthorizationCodeFastPath) when no refresh token follows.
    /// With <paramref name="grant"/>, also only while the grant's account and session are still valid (as
    /// <see cref="TryRedeemAndInsertAsync(string, DateTime, string, string?, string?, string?, DateTime?, DateTime?, CancellationToken, GrantConditions?)"/>).
    /// </summary>
    public async Task<bool> TryRedeemCodeAsync(string id, DateTime redeemedAtUtc, CancellationToken cancellationToken, GrantConditions? grant = null)
    {
        object?[] arguments =
        [
            .. RedeemArguments(id, redeemedAtUtc, Guid.NewGuid().ToString(), TokenTypeIdentifiers.Private.AuthorizationCode),
            .. grant is null ? [] : GrantArguments(grant),
        ];
        var sql = grant is null ? RedeemCode : db.Database.IsSqlite() ? RedeemCodeUnderGrantSqlite : RedeemCodeUnderGrant;
        return await ExecuteAsync(sql, arguments, cancellationToken) == 1;
    }

    /// <summary>
    /// The code's redemption (<see cref="TryRedeemCodeAsync"/>) and the first refresh token's entry in one round trip, as
    /// <see cref="TryRedeemAndInsertAsync(string, DateTime, string, string?, string?, string?, DateTime?, DateTime?, CancellationToken, GrantConditions?)"/>
    /// does for a rotation.
    /// </summary>
    public Task<bool> TryRedeemCodeAndInsertAsync(string codeId, DateTime redeemedAtUtc, string id, string? applicationId,
        string? authorizationId, string? subject, DateTime? creationDateUtc, DateTime? expirationDateUtc, CancellationToken cancellationToken,
        GrantConditions? grant = null) =>
        TryRedeemAndInsertAsync(referenceToken: true, TokenTypeIdentifiers.Private.AuthorizationCode, codeId, redeemedAtUtc, id, applicationId,
            authorizationId, subject, creationDateUtc, expirationDateUtc, grant, cancellationToken);

    private async Task<bool> TryRedeemAndInsertAsync(bool referenceToken, string redeemedType, string redeemedId, DateTime redeemedAtUtc,
        string id, string? applicationId, string? authorizationId, string? subject, DateTime? creationDateUtc, DateTime? expirationDateUtc,
        GrantConditions? grant, CancellationToken cancellationToken)
    {
        var redemption = Guid.NewGuid().ToString();
        object?[] arguments =
        [
            .. RedeemArguments(redeemedId, redeemedAtUtc, redemption, redeemedType),
            .. NewEntryArguments(id, applicationId, authorizationId, subject, creationDateUtc, expirationDateUtc),
            .. grant is null ? [] : GrantArguments(grant),
        ];
        var sqlite = db.Database.IsSqlite();
        var sql = RedeemAndInsert[RedeemAndInsertIndex(sqlite, referenceToken, grant is not null)];
        var leaves = LeavesContext();
        int rows;
        if (sqlite && db.Database.CurrentTransaction is null && !leaves)
        {
            // SQLite: both statements in one transaction (one commit, under the write gate from BEGIN to COMMIT), so that the
            // redemption and the new entry are written together or not at all, as the one implicit transaction of
            // PostgreSQL's command.
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            rows = await db.Database.ExecuteSqlRawAsync(sql, arguments!, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        else
        {
            rows = await ExecuteAsync(sql, arguments, leaves, cancellationToken);
        }

        return (sqlite, rows) switch
        {
            // PostgreSQL: the INSERT's row (the redemption's row count is not the statement's).
            (false, 1) => true,
            // SQLite counts the rows of every statement of the command: the redemption and the insert.
            (true, 2) => true,
            (_, 0) => false,
            // SQLite only, in a caller's transaction that lets another connection in between (not the case here: the
            // command runs under the write gate): the entry was redeemed but changed again before the INSERT; nothing new
            // was stored, and the caller refuses with the entry's reason.
            (true, 1) => false,
            _ => throw new InvalidOperationException($"Redeeming token entry {redeemedId} changed {rows} rows (expected 2 or 0)."),
        };
    }

    /// <summary>
    /// One command: when it may leave the context (<see cref="LeavesContext"/>), on PostgreSQL through the multiplexing data
    /// source (<see cref="MultiplexedStatements"/>), on SQLite in a group of <see cref="SqliteTokenStatements"/> (its own
    /// transaction and savepoint; not cancelled once queued, as a redemption is not left half done); else on the context (on
    /// SQLite through its interceptors, the write gate).
    /// </summary>
    private Task<int> ExecuteAsync(string sql, object?[] arguments, CancellationToken cancellationToken) =>
        ExecuteAsync(sql, arguments, LeavesContext(), cancellationToken);

    /// <summary>As <see cref="ExecuteAsync(string, object?[], CancellationToken)"/>, with <see cref="LeavesContext"/> already decided.</summary>
    private async Task<int> ExecuteAsync(string sql, object?[] arguments, bool leavesContext, CancellationToken cancellationToken) =>
        !leavesContext ? await db.Database.ExecuteSqlRawAsync(sql, arguments!, cancellationToken)
        : multiplexed.Enabled ? await multiplexed.ExecuteAsync(sql, arguments, cancellationToken)
        : await grouped.ExecuteAsync(sql, arguments);

    /// <summary>
    /// Whether the token statements leave the context for <see cref="MultiplexedStatements"/> or
    /// <see cref="SqliteTokenStatements"/>: one of them enabled, no transaction of the context (nor an ambient one), and, on
    /// SQLite, the context not holding the write gate (a transaction it left without an end it saw holds it until its next
    /// command: the group, which waits for the gate, would wait for ever). The one place that decides it.
    /// </summary>
    private bool LeavesContext()
    {
        if (!(multiplexed.Enabled || grouped.Enabled) || db.Database.CurrentTransaction is not null
            || System.Transactions.Transaction.Current is not null)
        {
            return false;
        }

        if (db is SqliteIdentityHubDbContext sqliteContext)
        {
            sqliteContext.WriteGate.ReleaseIfTransactionEnded();
            return !sqliteContext.WriteGate.IsHeld;
        }

        return true;
    }

    /// <summary>Inserts a new, valid refresh token entry.</summary>
    public Task InsertAsync(string id, string? applicationId, string? authorizationId, string? subject,
        DateTime? creationDateUtc, DateTime? expirationDateUtc, CancellationToken cancellationToken) =>
        ExecuteAsync(InsertValues, NewEntryArguments(id, applicationId, authorizationId, subject, creationDateUtc, expirationDateUtc), cancellationToken);

    private const string InsertValues = Insert + " VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8})";

    /// <summary>
    /// The redemption (arguments from <see cref="RedeemArguments"/>, {0} to {5}): a valid entry of type {5} whose
    /// authorization, if any, is valid becomes redeemed and gets the concurrency token {2}; a refresh token's entry is a
    /// self-contained token's (no reference id), a code's a reference token's.
    /// <para>
    /// The reference id is tested as <c>("ReferenceId" || '') IS [NOT] NULL</c>, which is <c>"ReferenceId" IS [NOT] NULL</c>
    /// on both providers (concatenation with NULL is NULL) but cannot be an index condition: the entry is found by its
    /// primary key and nothing else. Written as a plain null test, it is also a condition of the unique reference-id index,
    /// and PostgreSQL's planner costs the two index scans alike when the table has no statistics (a new database before
    /// autovacuum's first ANALYZE) or statistics of another mix (the null test's selectivity is the null fraction: a table
    /// mostly of codes makes "IS NULL" look like one row): it then took the reference-id index, walked every refresh
    /// token's entry (all share the NULL key) and filtered them by "Id", and every pooled connection kept that generic plan.
    /// Measured (issue 9, tenth session): 530-610 blocks and ~5,500 rows fetched per rotation on a table of 8,000 entries,
    /// growing with the table, against 3 + the row's own blocks by the primary key.
    /// </para>
    /// </summary>
    internal static string RedeemStatement(bool referenceToken) =>
        $$"""
        UPDATE "OpenIddictTokens" SET "Status" = {3}, "RedemptionDate" = {1}, "ConcurrencyToken" = {2}
        WHERE "Id" = {0} AND "Status" = {4} AND "Type" = {5} AND ("ReferenceId" || '') IS {{(referenceToken ? "NOT NULL" : "NULL")}}
          AND ("AuthorizationId" IS NULL OR EXISTS (SELECT 1 FROM "OpenIddictAuthorizations" AS a WHERE a."Id" = "OpenIddictTokens"."AuthorizationId" AND a."Status" = {4}))
        """;

    /// <summary>
    /// The rotation's command (<see cref="TryRedeemAndInsertAsync(bool, string, string, DateTime, string, string?, string?, string?, DateTime?, DateTime?, GrantConditions?, CancellationToken)"/>)
    /// for each provider, kind of redeemed entry and presence of grant conditions, built once (<see cref="RedeemAndInsertIndex"/>).
    /// </summary>
    private static readonly string[] RedeemAndInsert =
        [.. Enumerable.Range(0, 8).Select(i => RedeemAndInsertStatement(sqlite: (i & 4) != 0, referenceToken: (i & 2) != 0, grant: (i & 1) != 0))];

    private static int RedeemAndInsertIndex(bool sqlite, bool referenceToken, bool grant) =>
        (sqlite ? 4 : 0) | (referenceToken ? 2 : 0) | (grant ? 1 : 0);

    private static string RedeemAndInsertStatement(bool sqlite, bool referenceToken, bool grant)
    {
        var redeem = RedeemStatement(referenceToken) + (grant ? GrantStillValid(sqlite) : "");
        return sqlite
            ? redeem + ";\n" + Insert + " SELECT {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13}, {14} " +
              "WHERE EXISTS (SELECT 1 FROM \"OpenIddictTokens\" WHERE \"Id\" = {0} AND \"ConcurrencyToken\" = {2})"
            // PostgreSQL: one statement, the INSERT fed by the UPDATE's RETURNING (a data-modifying WITH): no second probe
            // of the entry by its concurrency token, one statement's start-up and snapshot instead of two.
            : "WITH redeemed AS (" + redeem + "\nRETURNING 1)\n" + Insert + " SELECT {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13}, {14} FROM redeemed";
    }

    private static readonly string Redeem = RedeemStatement(referenceToken: false) + ";\n";

    private static readonly string RedeemCode = RedeemStatement(referenceToken: true) + ";\n";

    /// <summary>A code's lone redemption under the grant's conditions (arguments {6} to {9}).</summary>
    private static readonly string RedeemCodeUnderGrant = RedeemStatement(referenceToken: true) + GrantStillValid(sqlite: false, first: 6) + ";\n";

    private static readonly string RedeemCodeUnderGrantSqlite = RedeemStatement(referenceToken: true) + GrantStillValid(sqlite: true, first: 6) + ";\n";

    /// <summary>
    /// The token endpoint's checks of the account and the session (<see cref="TokenEndpoint.EvaluateGrantAsync"/>) as
    /// conditions of the redemption (arguments from <see cref="GrantArguments"/>, {first} to {first + 3}: {15} to {18} after
    /// a new entry's): the account exists, meets
    /// the assurance threshold and is not locked out as Identity's UserManager.IsLockedOutAsync decides it (lock-out
    /// enabled and an end at or after now), and the grant's SSO session was not ended. On SQLite, where EF Core stores a
    /// DateTimeOffset as text, the lock-out end is compared as a point in time (julianday reads the text's offset; an
    /// unreadable value gives NULL, and the redemption does not happen).
    /// </summary>
    private static string GrantStillValid(bool sqlite, int first = 15) =>
        $$"""

          AND EXISTS (SELECT 1 FROM "AspNetUsers" AS u WHERE u."Id" = {{{first}}} AND u."AssuranceLevel" >= {{{first + 1}}}
            AND (NOT u."LockoutEnabled" OR u."LockoutEnd" IS NULL OR {{(sqlite ? $"julianday(u.\"LockoutEnd\") < julianday({{{first + 2}}})" : $"u.\"LockoutEnd\" < {{{first + 2}}}")}}))
          AND NOT EXISTS (SELECT 1 FROM "SsoSessions" AS s WHERE s."Id" = {{{first + 3}}} AND s."EndedAtUtc" IS NOT NULL)
        """;

    /// <summary>A new entry's columns, in the order of <see cref="NewEntryArguments"/>.</summary>
    private const string Insert =
        "INSERT INTO \"OpenIddictTokens\" (\"Id\", \"ApplicationId\", \"AuthorizationId\", \"ConcurrencyToken\", \"CreationDate\", " +
        "\"ExpirationDate\", \"Status\", \"Subject\", \"Type\")";

    private static object?[] RedeemArguments(string id, DateTime redeemedAtUtc, string concurrencyToken, string type) =>
        [id, redeemedAtUtc, concurrencyToken, Statuses.Redeemed, Statuses.Valid, type];

    private static object?[] GrantArguments(GrantConditions grant) =>
        [grant.UserId, grant.MinimumStoredAssuranceLevel, grant.Now, grant.SessionId];

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
