using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IdentityHub.Server.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AuditIndexesForScale : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_AuditEvents_DepartmentCode_EventType_OccurredAtUtc",
                table: "AuditEvents");

            migrationBuilder.CreateIndex(
                name: "IX_AuditEvents_DepartmentCode_EventType_OccurredAtUtc_Id",
                table: "AuditEvents",
                columns: new[] { "DepartmentCode", "EventType", "OccurredAtUtc", "Id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_AuditEvents_DepartmentCode_EventType_OccurredAtUtc_Id",
                table: "AuditEvents");

            migrationBuilder.CreateIndex(
                name: "IX_AuditEvents_DepartmentCode_EventType_OccurredAtUtc",
                table: "AuditEvents",
                columns: new[] { "DepartmentCode", "EventType", "OccurredAtUtc" });
        }
    }
}
