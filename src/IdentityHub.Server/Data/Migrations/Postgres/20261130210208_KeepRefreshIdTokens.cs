using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IdentityHub.Server.Data.Migrations.Postgres
{
    /// <summary>
    /// Keeps what the clients registered before this release got: an ID token with every refresh. A refresh now returns
    /// one only to a client registered with idTokenOnRefresh (Oidc/RefreshIdTokens, OpenID Connect Core 1.0 section
    /// 12.2), so every client of the authorization code grant that exists when this runs is registered with it (the
    /// application setting hub:id_token_on_refresh = "true"); clients registered afterwards get the new default. An
    /// administrator turns it off per client (admin API, console, import). Down removes the setting from every client.
    /// </summary>
    public partial class KeepRefreshIdTokens : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                UPDATE "OpenIddictApplications"
                SET "Settings" = (COALESCE(NULLIF("Settings", ''), '{}')::jsonb || '{"hub:id_token_on_refresh": "true"}'::jsonb)::text
                WHERE "Permissions" LIKE '%"gt:authorization_code"%'
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                UPDATE "OpenIddictApplications"
                SET "Settings" = ("Settings"::jsonb - 'hub:id_token_on_refresh')::text
                WHERE "Settings" LIKE '%hub:id_token_on_refresh%'
                """);
        }
    }
}
