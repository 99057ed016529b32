using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Claims;
using OpenIddict.Abstractions;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// OpenIddict's claim destinations (the ".destinations" property of a claim, a JSON array of token types), read and written
/// as its own extensions do, without their per-claim JSON: OpenIddict's <c>SetDestinations</c> serialises each claim's array
/// through a new MemoryStream and Utf8JsonWriter, and its <c>GetDestinations</c> and <c>HasDestination</c> parse a
/// JsonDocument per claim, for a handful of distinct values per server. Here each distinct property value is parsed once by
/// OpenIddict's own <c>GetDestinations</c> and kept (a bounded cache), and each of <see cref="Set"/>'s arrays is serialised once
/// by OpenIddict's own <c>SetDestinations</c>: the same strings, the same answers, the same exceptions (a value that does not
/// parse is left to OpenIddict's method every time).
/// </summary>
internal static class ClaimDestinations
{
    /// <summary>OpenIddict's name of the property (OpenIddictConstants.Properties.Destinations).</summary>
    private const string Property = OpenIddictConstants.Properties.Destinations;

    /// <summary>Distinct property values parsed so far; bounded: past it a value is parsed each time, as OpenIddict does.</summary>
    private static readonly ConcurrentDictionary<string, ImmutableArray<string>> Parsed = new(StringComparer.Ordinal);

    private const int MaxParsed = 256;

    [ThreadStatic] private static List<(string Type, string? Raw)>? t_types;

    /// <summary>A fixed set of destinations and its property value, as OpenIddict's SetDestinations writes it (null: none, the property removed).</summary>
    public sealed class Set
    {
        public Set(params string[] destinations)
        {
            Values = [.. destinations];
            Json = new Claim("destinations", "value").SetDestinations(Values).Properties.TryGetValue(Property, out var json) ? json : null;
        }

        public ImmutableArray<string> Values { get; }

        public string? Json { get; }
    }

    /// <summary>OpenIddict's <c>identity.SetDestinations(selector)</c> for a selector of fixed sets.</summary>
    public static void Apply(ClaimsIdentity identity, Func<Claim, Set> selector)
    {
        foreach (var claim in identity.Claims)
        {
            var set = selector(claim);
            if (set.Json is null)
            {
                claim.Properties.Remove(Property);
            }
            else
            {
                claim.Properties[Property] = set.Json;
            }
        }
    }

    /// <summary>OpenIddict's <c>claim.HasDestination(destination)</c>.</summary>
    public static bool Has(Claim claim, string destination)
    {
        claim.Properties.TryGetValue(Property, out var raw);
        if (string.IsNullOrEmpty(raw))
        {
            return false;
        }

        if (!TryParse(raw, out var values))
        {
            return claim.HasDestination(destination);
        }

        foreach (var value in values)
        {
            if (string.Equals(value, destination, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// OpenIddict's <c>principal.GetDestinations()</c>: per claim type with destinations, the first claim's (distinct, in
    /// order). Claims of one type whose property values differ go to OpenIddict's method, which compares them as sets (and
    /// refuses a mismatch).
    /// </summary>
    public static ImmutableDictionary<string, ImmutableArray<string>> Of(ClaimsPrincipal principal)
    {
        var types = t_types ??= new List<(string Type, string? Raw)>(32);
        types.Clear();
        try
        {
            foreach (var claim in principal.Claims)
            {
                claim.Properties.TryGetValue(Property, out var raw);
                var index = 0;
                while (index < types.Count && !string.Equals(types[index].Type, claim.Type, StringComparison.Ordinal))
                {
                    index++;
                }

                if (index == types.Count)
                {
                    types.Add((claim.Type, raw));
                }
                else if (!string.Equals(types[index].Raw, raw, StringComparison.Ordinal))
                {
                    return principal.GetDestinations();
                }
            }

            var builder = ImmutableDictionary.CreateBuilder<string, ImmutableArray<string>>(StringComparer.Ordinal);
            foreach (var (type, raw) in types)
            {
                if (string.IsNullOrEmpty(raw))
                {
                    continue;
                }

                if (!TryParse(raw, out var values))
                {
                    return principal.GetDestinations();
                }

                if (values.Length > 0)
                {
                    builder.Add(type, values);
                }
            }

            return builder.ToImmutable();
        }
        finally
        {
            types.Clear();
        }
    }

    /// <summary>A property value as OpenIddict's <c>claim.GetDestinations()</c> reads it: non-empty strings, distinct ignoring case, in order.</summary>
    private static bool TryParse(string raw, out ImmutableArray<string> values)
    {
        if (Parsed.TryGetValue(raw, out values))
        {
            return true;
        }

        var probe = new Claim("destinations", "value");
        probe.Properties[Property] = raw;
        try
        {
            values = probe.GetDestinations();
        }
        catch (Exception exception) when (exception is System.Text.Json.JsonException or InvalidOperationException)
        {
            values = default;
            return false;
        }

        if (Parsed.Count < MaxParsed)
        {
            Parsed.TryAdd(raw, values);
        }

        return true;
    }
}
