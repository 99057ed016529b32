using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace IdentityHub.Server.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RealName : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "AssuranceLevel",
                table: "AspNetUsers",
                type: "integer",
                nullable: false,
                defaultValue: 1); // existing accounts are L1 (self-registered)

            migrationBuilder.CreateTable(
                name: "Enterprises",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    CreditCode = table.Column<string>(type: "character varying(18)", maxLength: 18, nullable: false),
                    Name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    LegalRepresentativeUserId = table.Column<string>(type: "character varying(450)", maxLength: 450, nullable: false),
                    Status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    Provider = table.Column<string>(type: "character varying(50)", maxLength: 50, nullable: true),
                    TransactionId = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    RegisteredAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    VerifiedAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Enterprises", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Enterprises_AspNetUsers_LegalRepresentativeUserId",
                        column: x => x.LegalRepresentativeUserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "RealNameRecords",
                columns: table => new
                {
                    UserId = table.Column<string>(type: "character varying(450)", maxLength: 450, nullable: false),
                    Name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    IdNumberCiphertext = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    IdNumberIndex = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    IdNumberMasked = table.Column<string>(type: "character varying(18)", maxLength: 18, nullable: false),
                    BirthDate = table.Column<DateOnly>(type: "date", nullable: false),
                    Gender = table.Column<string>(type: "character varying(10)", maxLength: 10, nullable: false),
                    VerifiedAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RealNameRecords", x => x.UserId);
                    table.ForeignKey(
                        name: "FK_RealNameRecords_AspNetUsers_UserId",
                        column: x => x.UserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "VerificationEvidence",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    UserId = table.Column<string>(type: "character varying(450)", maxLength: 450, nullable: false),
                    Level = table.Column<int>(type: "integer", nullable: false),
                    Check = table.Column<string>(type: "character varying(50)", maxLength: 50, nullable: false),
                    Provider = table.Column<string>(type: "character varying(50)", maxLength: 50, nullable: true),
                    TransactionId = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    VerifiedAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    ClerkUserId = table.Column<string>(type: "character varying(450)", maxLength: 450, nullable: true),
                    ClerkName = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_VerificationEvidence", x => x.Id);
                    table.ForeignKey(
                        name: "FK_VerificationEvidence_AspNetUsers_UserId",
                        column: x => x.UserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "AgentMandates",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    EnterpriseId = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    AgentUserId = table.Column<string>(type: "character varying(450)", maxLength: 450, nullable: false),
                    GrantedByUserId = table.Column<string>(type: "character varying(450)", maxLength: 450, nullable: false),
                    GrantedAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    ExpiresAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    RevokedAtUtc = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    RevokedByUserId = table.Column<string>(type: "character varying(450)", maxLength: 450, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AgentMandates", x => x.Id);
                    table.ForeignKey(
                        name: "FK_AgentMandates_AspNetUsers_AgentUserId",
                        column: x => x.AgentUserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_AgentMandates_Enterprises_EnterpriseId",
                        column: x => x.EnterpriseId,
                        principalTable: "Enterprises",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_AgentMandates_AgentUserId_EnterpriseId",
                table: "AgentMandates",
                columns: new[] { "AgentUserId", "EnterpriseId" });

            migrationBuilder.CreateIndex(
                name: "IX_AgentMandates_EnterpriseId",
                table: "AgentMandates",
                column: "EnterpriseId");

            migrationBuilder.CreateIndex(
                name: "IX_Enterprises_CreditCode",
                table: "Enterprises",
                column: "CreditCode",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Enterprises_LegalRepresentativeUserId",
                table: "Enterprises",
                column: "LegalRepresentativeUserId");

            migrationBuilder.CreateIndex(
                name: "IX_RealNameRecords_IdNumberIndex",
                table: "RealNameRecords",
                column: "IdNumberIndex",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_VerificationEvidence_UserId",
                table: "VerificationEvidence",
                column: "UserId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "AgentMandates");

            migrationBuilder.DropTable(
                name: "RealNameRecords");

            migrationBuilder.DropTable(
                name: "VerificationEvidence");

            migrationBuilder.DropTable(
                name: "Enterprises");

            migrationBuilder.DropColumn(
                name: "AssuranceLevel",
                table: "AspNetUsers");
        }
    }
}
