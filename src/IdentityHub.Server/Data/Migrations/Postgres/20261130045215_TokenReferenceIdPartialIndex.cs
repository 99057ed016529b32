using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IdentityHub.Server.Data.Migrations.Postgres
{
    /// <summary>
    /// Makes the unique index on <c>OpenIddictTokens.ReferenceId</c> partial (<c>WHERE "ReferenceId" IS NOT NULL</c>) without
    /// locking the table: the generated DropIndex + CreateIndex ran in the migration's transaction and held ACCESS EXCLUSIVE
    /// on OpenIddictTokens (every token read and write waiting) for the whole build. Instead the new index is built
    /// <c>CONCURRENTLY</c> under a temporary name, the old one dropped <c>CONCURRENTLY</c>, and the new one renamed to the
    /// name the model expects (the snapshot, the Designer and the compiled model are unchanged: same name, column, filter).
    /// CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction block: those statements are <c>suppressTransaction</c>
    /// (EF Core commits the migration run's transaction before such a statement, runs it alone, and begins a new
    /// transaction for the next ones), one statement per command (a multi-statement command would be one implicit
    /// transaction). The rename is transactional and commits together with EF Core's history row.
    /// <para>
    /// Idempotent if re-run after a crash midway (the history row is not written then): an INVALID index left by a failed
    /// concurrent build is renamed aside (ALTER INDEX ... RENAME takes only SHARE UPDATE EXCLUSIVE) and dropped
    /// concurrently; a valid temporary index is kept (IF NOT EXISTS), an old index already dropped is skipped (IF EXISTS).
    /// Throughout, some unique index on ReferenceId serves the lookups by reference id.
    /// </para>
    /// <para>
    /// EF Core's PostgreSQL migration lock (LOCK TABLE on the history table) is transaction-scoped: it is released before the
    /// non-transactional statements, so apply this migration from one node (docs/deployment.md, "Upgrading a running
    /// deployment"). The earlier AuditPartialIndexes migration still rebuilds its indexes in the transaction (not
    /// concurrently); it is left as it was. SQLite's migration is the generated one (no concurrency there).
    /// </para>
    /// </summary>
    public partial class TokenReferenceIdPartialIndex : Migration
    {
        private const string Table = "OpenIddictTokens";
        private const string Name = "IX_OpenIddictTokens_ReferenceId";
        private const string Building = "IX_OpenIddictTokens_ReferenceId_building";
        private const string Failed = "IX_OpenIddictTokens_ReferenceId_failed";

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder) =>
            Rebuild(migrationBuilder, "WHERE \"ReferenceId\" IS NOT NULL");

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder) =>
            Rebuild(migrationBuilder, string.Empty);

        /// <summary>Replaces the index <see cref="Name"/> with a unique index on ReferenceId with <paramref name="where"/>.</summary>
        private static void Rebuild(MigrationBuilder migrationBuilder, string where)
        {
            // 1. A failed concurrent build of an earlier attempt leaves its index INVALID (not used by queries, but kept up to
            // date by every write, and IF NOT EXISTS below would take it for built): move it aside, then drop it.
            migrationBuilder.Sql($"""
                DO $$
                BEGIN
                    IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('"{Building}"') AND NOT indisvalid) THEN
                        ALTER INDEX "{Building}" RENAME TO "{Failed}";
                    END IF;
                END $$;
                """);
            migrationBuilder.Sql($"DROP INDEX CONCURRENTLY IF EXISTS \"{Failed}\";", suppressTransaction: true);

            // 2. The new index, built without blocking writes (PostgreSQL docs, "Building Indexes Concurrently").
            migrationBuilder.Sql(
                $"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"{Building}\" ON \"{Table}\" (\"ReferenceId\") {where};",
                suppressTransaction: true);

            // 3. The old one: the new one already answers the lookups. A failed DROP ... CONCURRENTLY leaves it invalid, and
            // dropped again by a re-run.
            migrationBuilder.Sql($"DROP INDEX CONCURRENTLY IF EXISTS \"{Name}\";", suppressTransaction: true);

            // 4. The name the model (and any later migration) knows; in the transaction that writes the history row.
            migrationBuilder.Sql($"ALTER INDEX \"{Building}\" RENAME TO \"{Name}\";");
        }
    }
}
