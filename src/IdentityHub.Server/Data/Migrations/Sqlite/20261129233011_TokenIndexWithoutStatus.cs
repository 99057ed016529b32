using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IdentityHub.Server.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class TokenIndexWithoutStatus : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_OpenIddictTokens_ApplicationId_Status_Subject_Type",
                table: "OpenIddictTokens");

            migrationBuilder.CreateIndex(
                name: "IX_OpenIddictTokens_ApplicationId_Subject_Type",
                table: "OpenIddictTokens",
                columns: new[] { "ApplicationId", "Subject", "Type" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_OpenIddictTokens_ApplicationId_Subject_Type",
                table: "OpenIddictTokens");

            migrationBuilder.CreateIndex(
                name: "IX_OpenIddictTokens_ApplicationId_Status_Subject_Type",
                table: "OpenIddictTokens",
                columns: new[] { "ApplicationId", "Status", "Subject", "Type" });
        }
    }
}
