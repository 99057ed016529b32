using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityHub.Tests.Oidc;

public abstract partial class OidcProtocolTests
{
    /// <summary>
    /// Oidc:ReferenceIdUniqueByIndex (on): OpenIddict's token manager no longer looks a new entry's reference id up before
    /// the insert; the unique index on ReferenceId refuses a second entry with a code's reference all the same. The refused
    /// entry is not written, and the code still redeems once.
    /// </summary>
    [Fact]
    public async Task TokenEntry_WithAnIssuedCodesReference_Refused_CodeStillRedeemsOnce()
    {
        var client = await Kit.RegisterWebClientAsync();
        var user = await Kit.CreateUserAsync();
        var (callback, pkce, _) = await Kit.AuthorizeForCodeAsync(NewBrowser(), client, user);
        var code = callback["code"]!;
        var entry = Assert.Single(await CodeEntriesAsync(client.ClientId));

        await using (var scope = Server.Services.CreateAsyncScope())
        {
            // The manager stores the SHA-256 of the reference it is given: the code itself gives the issued entry's reference.
            var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
            // Refused by the index at the insert (OpenIddict's lookup, with the option off, would refuse it as a validation error).
            await Assert.ThrowsAsync<DbUpdateException>(async () => await tokens.CreateAsync(new OpenIddictTokenDescriptor
            {
                ReferenceId = code,
                Payload = "not a token",
                Status = Statuses.Valid,
                Subject = entry.Subject,
                Type = TokenTypeIdentifiers.Private.AuthorizationCode,
                CreationDate = DateTimeOffset.UtcNow,
                ExpirationDate = DateTimeOffset.UtcNow.AddMinutes(5),
            }));
        }

        await using (var scope = Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Server.Data.IdentityHubDbContext>();
            Assert.Equal(entry.Id, Assert.Single(await db.Set<Server.Registry.HubToken>().AsNoTracking()
                .Where(t => t.ReferenceId == entry.ReferenceId).Select(t => t.Id).ToListAsync()));
        }

        var redeemed = await Kit.RedeemCodeAsync(client, code, pkce.Verifier);
        Assert.False(redeemed.IsError, $"{redeemed.Error} {redeemed.ErrorDescription}");
        Assert.Equal("invalid_grant", (await Kit.RedeemCodeAsync(client, code, pkce.Verifier)).Error);
    }

    /// <summary>
    /// The reference-id index is unique over the entries that have a reference id and holds no others (partial: a refresh
    /// token's entry, which has none, costs no index entry on a rotation; issue 9, eleventh session), and a code's lookup by
    /// its reference id (RefreshTokenQueries.FindCode, OpenIddict's FindByReferenceIdAsync) is still answered through it:
    /// on PostgreSQL with the generic plan a prepared statement keeps (a parameter, as Npgsql's auto-prepare sends it), on
    /// SQLite with a bound parameter. The uniqueness itself: TokenEntry_WithAnIssuedCodesReference_Refused_CodeStillRedeemsOnce.
    /// </summary>
    [Fact]
    public async Task ReferenceIdIndex_PartialAndUnique_CodeLookupStillUsesIt()
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Server.Data.IdentityHubDbContext>();
        var postgres = Provider == "Postgres";
        await using var transaction = await db.Database.BeginTransactionAsync();
        var connection = db.Database.GetDbConnection();

        async Task<List<string>> Rows(string sql, int column = 0, string? parameter = null)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction.GetDbTransaction();
            command.CommandText = sql;
            if (parameter is not null)
            {
                var p = command.CreateParameter();
                p.ParameterName = "@reference";
                p.Value = parameter;
                command.Parameters.Add(p);
            }

            var rows = new List<string>();
            await using DbDataReader reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetValue(column).ToString()!);
            }

            return rows;
        }

        var definition = Assert.Single(await Rows(postgres
            ? "SELECT indexdef FROM pg_indexes WHERE indexname = 'IX_OpenIddictTokens_ReferenceId'"
            : "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'IX_OpenIddictTokens_ReferenceId'"));
        Assert.Contains("UNIQUE INDEX", definition, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("WHERE", definition, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"ReferenceId\" IS NOT NULL", definition, StringComparison.Ordinal);

        List<string> plan;
        if (postgres)
        {
            await Rows("SET LOCAL enable_seqscan = off");
            await Rows("SET LOCAL plan_cache_mode = force_generic_plan");
            await Rows("PREPARE reference_lookup(text) AS SELECT \"Id\" FROM \"OpenIddictTokens\" WHERE \"ReferenceId\" = $1");
            plan = await Rows("EXPLAIN EXECUTE reference_lookup('code')");
            await Rows("DEALLOCATE reference_lookup");
        }
        else
        {
            plan = await Rows("EXPLAIN QUERY PLAN SELECT \"Id\" FROM \"OpenIddictTokens\" WHERE \"ReferenceId\" = @reference", column: 3, parameter: "code");
        }

        await transaction.RollbackAsync();
        Assert.Contains(plan, line => line.Contains("IX_OpenIddictTokens_ReferenceId", StringComparison.Ordinal));
    }
}
