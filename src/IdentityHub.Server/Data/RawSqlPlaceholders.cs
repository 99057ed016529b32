using System.Globalization;
using System.Text.RegularExpressions;

namespace IdentityHub.Server.Data;

/// <summary>
/// EF Core's raw-SQL placeholders ({0}, {1}, ...) renumbered for a provider's own commands, for the token statements run
/// outside a DbContext (<see cref="MultiplexedStatements"/>: PostgreSQL's $1, $2, ...; <see cref="SqliteTokenStatements"/>:
/// @p0, @p1, ...). The statements hold no other braces (no literals, no JSON).
/// </summary>
internal static partial class RawSqlPlaceholders
{
    public static string Renumber(string sql, string prefix, int first) =>
        Placeholder().Replace(sql, match =>
            prefix + (int.Parse(match.Groups[1].ValueSpan, provider: CultureInfo.InvariantCulture) + first).ToString(CultureInfo.InvariantCulture));

    [GeneratedRegex(@"\{(\d+)\}")]
    private static partial Regex Placeholder();
}
