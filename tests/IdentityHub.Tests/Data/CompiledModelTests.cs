using IdentityHub.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;

namespace IdentityHub.Tests.Data;

/// <summary>
/// The server runs on the compiled models in Data/CompiledModels (<c>dotnet ef dbcontext optimize</c>) and its
/// <c>Migrate</c> no longer compares the migrations' snapshot with the model built from <c>OnModelCreating</c>
/// (DataExtensions.UseCompiledModel): these tests do that comparison, and compare the compiled model's schema with it.
/// A model change without a migration fails the first; a migration added without regenerating the compiled model fails
/// the second (docs/architecture.md,
/// "Data": the commands).
/// </summary>
public sealed class CompiledModelTests
{
    public static TheoryData<string> Providers => ["Sqlite", "Postgres"];

    [Theory]
    [MemberData(nameof(Providers))]
    public void DesignTimeModel_MatchesTheLastMigrationsSnapshot(string provider)
    {
        using var context = CreateContext(provider);
        var designTime = context.GetService<IDesignTimeModel>().Model.GetRelationalModel();

        AssertNoDifferences(context, SnapshotModel(context), designTime, "the model built from OnModelCreating (add a migration)");
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void CompiledModel_IsTheContextsModel_AndMapsTheSameSchemaAsTheDesignTimeModel(string provider)
    {
        // EF Core's model differ cannot read a compiled (read-optimized) model, which keeps only what the runtime
        // needs: the schema it maps is compared instead, table by table, with the design-time model's, which the
        // test above ties to the last migration's snapshot.
        using var context = CreateContext(provider);
        var expectedType = provider == "Sqlite"
            ? typeof(IdentityHub.Server.Data.CompiledModels.Sqlite.SqliteIdentityHubDbContextModel)
            : typeof(IdentityHub.Server.Data.CompiledModels.Postgres.PostgresIdentityHubDbContextModel);
        Assert.IsType(expectedType, context.Model);
        var designTime = Schema(context.GetService<IDesignTimeModel>().Model.GetRelationalModel());

        var compiled = Schema(context.Model.GetRelationalModel());

        Assert.True(designTime.Count > 30, "the design-time model maps the tables");
        Assert.Equal(designTime, compiled);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public void SchemaComparison_DetectsOneColumnThatDiffers(string provider)
    {
        // The comparison of the test above is not blind: the snapshot's schema with one column (Departments.NameEn)
        // no longer nullable differs from the compiled model's by exactly that column.
        using var context = CreateContext(provider);
        var snapshot = (ModelSnapshot)Activator.CreateInstance(context.GetService<IMigrationsAssembly>().ModelSnapshot!.GetType())!;
        var initializer = context.GetService<IModelRuntimeInitializer>();
        var unchanged = Schema(initializer.Initialize(snapshot.Model).GetRelationalModel());
        var changedSnapshot = (ModelSnapshot)Activator.CreateInstance(snapshot.GetType())!;
        var mutable = (IMutableModel)changedSnapshot.Model;
        mutable.FindEntityType("IdentityHub.Server.Registry.Department")!.FindProperty("NameEn")!.IsNullable = false;
        var changed = Schema(initializer.Initialize((IModel)mutable).GetRelationalModel());

        var compiled = Schema(context.Model.GetRelationalModel());

        Assert.Equal(unchanged, compiled);
        var differing = Assert.Single(changed.Except(compiled));
        Assert.StartsWith("Departments column NameEn ", differing, StringComparison.Ordinal);
    }

    /// <summary>One line per table, column, key, foreign key and index, with what the database sees of each.</summary>
    private static List<string> Schema(IRelationalModel model)
    {
        var lines = new List<string>();
        foreach (var table in model.Tables)
        {
            var name = table.Schema is null ? table.Name : $"{table.Schema}.{table.Name}";
            lines.Add($"{name} table");
            lines.AddRange(table.Columns.Select(c => $"{name} column {c.Name} {c.StoreType} null={c.IsNullable}"));
            if (table.PrimaryKey is { } key)
            {
                lines.Add($"{name} primary key {key.Name} ({Columns(key.Columns)})");
            }

            lines.AddRange(table.UniqueConstraints.Select(u => $"{name} unique {u.Name} ({Columns(u.Columns)})"));
            lines.AddRange(table.ForeignKeyConstraints.Select(f =>
                $"{name} foreign key {f.Name} ({Columns(f.Columns)}) -> {f.PrincipalTable.Name} ({Columns(f.PrincipalColumns)}) on delete {f.OnDeleteAction}"));
            lines.AddRange(table.Indexes.Select(i => $"{name} index {i.Name} ({Columns(i.Columns)}) unique={i.IsUnique} filter={i.Filter}"));
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static string Columns(IEnumerable<IColumn> columns) => string.Join(", ", columns.Select(c => c.Name));

    private static IRelationalModel SnapshotModel(DbContext context)
    {
        var snapshot = context.GetService<IMigrationsAssembly>().ModelSnapshot;
        Assert.NotNull(snapshot);
        return context.GetService<IModelRuntimeInitializer>().Initialize(snapshot.Model).GetRelationalModel();
    }

    private static void AssertNoDifferences(DbContext context, IRelationalModel snapshot, IRelationalModel model, string what)
    {
        var differences = context.GetService<IMigrationsModelDiffer>().GetDifferences(snapshot, model);
        Assert.True(differences.Count == 0,
            $"The last migration's snapshot and {what} differ: " + string.Join("; ", differences.Select(Describe)));
    }

    private static string Describe(MigrationOperation operation) => operation switch
    {
        CreateTableOperation t => $"{operation.GetType().Name} {t.Name}",
        DropTableOperation t => $"{operation.GetType().Name} {t.Name}",
        ColumnOperation c => $"{operation.GetType().Name} {c.Table}.{c.Name}",
        DropColumnOperation c => $"{operation.GetType().Name} {c.Table}.{c.Name}",
        CreateIndexOperation i => $"{operation.GetType().Name} {i.Table}.{i.Name}",
        DropIndexOperation i => $"{operation.GetType().Name} {i.Table}.{i.Name}",
        _ => operation.GetType().Name,
    };

    private static DbContext CreateContext(string provider) => provider == "Sqlite"
        ? new SqliteDesignTimeFactory().CreateDbContext([])
        : new PostgresDesignTimeFactory().CreateDbContext([]);
}
