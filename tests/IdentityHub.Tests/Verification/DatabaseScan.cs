using System.Data.Common;
using IdentityHub.Server.Data;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Verification;

/// <summary>Looks for a string in every text column of every table of a test server's database (SQLite or PostgreSQL).</summary>
public static class DatabaseScan
{
    /// <summary>"table.column" of every column whose value contains <paramref name="needle"/>.</summary>
    public static async Task<List<string>> ColumnsContainingAsync(IdentityHubServer server, string needle)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityHubDbContext>();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync();
        var sqlite = server.Database.Provider == "Sqlite";
        var columns = new List<(string Table, string Column)>();
        var listing = sqlite
            ? "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"
            : "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')";
        await using (var command = Command(connection, listing))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                columns.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var found = new List<string>();
        foreach (var (table, column) in columns)
        {
            var cast = sqlite ? $"CAST(\"{column}\" AS TEXT)" : $"\"{column}\"::text";
            await using var command = Command(connection, $"SELECT COUNT(*) FROM \"{table}\" WHERE upper({cast}) LIKE @needle");
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@needle";
            parameter.Value = "%" + needle.ToUpperInvariant() + "%";
            command.Parameters.Add(parameter);
            if (Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                found.Add(table + "." + column);
            }
        }

        if (columns.Count < 20)
        {
            throw new InvalidOperationException("The scan found too few columns to be meaningful: " + columns.Count);
        }

        return found;
    }

    /// <summary>For SQLite: whether the database files hold the bytes of <paramref name="needle"/> anywhere (free pages included).</summary>
    public static bool SqliteFilesContain(IdentityHubServer server, string needle)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(needle);
        return Directory.GetFiles(server.Database.DataDirectory, "identityhub.db*")
            .Any(file => File.ReadAllBytes(file).AsSpan().IndexOf(bytes) >= 0);
    }

    private static DbCommand Command(DbConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }
}
