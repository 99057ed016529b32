using System.Collections.Immutable;
using System.Text.Json;
using IdentityHub.Server.Api;

namespace IdentityHub.Server.Registry;

/// <summary>
/// For each claim of <see cref="ClaimCatalog"/>: full, masked or none. A claim the policy does not name is
/// none. Clients carry one, and departments carry a ceiling that caps every client's policy at run time.
/// </summary>
public sealed class ClaimReleasePolicy
{
    private readonly ImmutableSortedDictionary<string, ReleaseMode> _modes;

    private ClaimReleasePolicy(IEnumerable<KeyValuePair<string, ReleaseMode>> modes) =>
        _modes = modes.Where(m => m.Value != ReleaseMode.None).ToImmutableSortedDictionary(StringComparer.Ordinal);

    /// <summary>
    /// Used by clients and departments without an explicit policy: what the provider released before
    /// policies existed (name, user name, mobile, e-mail in full). Sensitive claims need a platform
    /// administrator to raise the department's ceiling.
    /// </summary>
    public static ClaimReleasePolicy Default { get; } = new(
    [
        new(ClaimCatalog.Name, ReleaseMode.Full),
        new(ClaimCatalog.PreferredUsername, ReleaseMode.Full),
        new(ClaimCatalog.PhoneNumber, ReleaseMode.Full),
        new(ClaimCatalog.Email, ReleaseMode.Full),
    ]);

    public static ClaimReleasePolicy Nothing { get; } = new([]);

    public ReleaseMode ModeOf(string key) => _modes.GetValueOrDefault(key, ReleaseMode.None);

    /// <summary>The smaller mode of the two, claim by claim.</summary>
    public ClaimReleasePolicy CappedBy(ClaimReleasePolicy ceiling) =>
        new(_modes.Select(m => KeyValuePair.Create(m.Key, (ReleaseMode)Math.Min((int)m.Value, (int)ceiling.ModeOf(m.Key)))));

    public IEnumerable<string> Exceeding(ClaimReleasePolicy ceiling) => _modes.Where(m => m.Value > ceiling.ModeOf(m.Key)).Select(m => m.Key);

    /// <summary>Every catalog claim with its mode, for the API and the console.</summary>
    public Dictionary<string, string> ToDictionary() =>
        ClaimCatalog.All.ToDictionary(c => c.Key, c => ModeOf(c.Key).ToString().ToLowerInvariant(), StringComparer.Ordinal);

    public string ToJson() => JsonSerializer.Serialize(_modes.ToDictionary(m => m.Key, m => m.Value.ToString().ToLowerInvariant()));

    public static ClaimReleasePolicy FromJson(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return Default;
        }

        var raw = JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
        return new(raw.Where(r => ClaimCatalog.ByKey.ContainsKey(r.Key))
            .Select(r => KeyValuePair.Create(r.Key, Enum.TryParse<ReleaseMode>(r.Value, ignoreCase: true, out var mode) ? mode : ReleaseMode.None)));
    }

    /// <summary>Parses an administrator's policy; an unknown claim or mode is a field error under <paramref name="field"/>.</summary>
    public static ClaimReleasePolicy? Parse(IReadOnlyDictionary<string, string>? input, string field, FieldErrors errors)
    {
        if (input is null)
        {
            errors.Add(field, new(RegistryCodes.PolicyRequired));
            return null;
        }

        var modes = new List<KeyValuePair<string, ReleaseMode>>();
        var before = errors.Count;
        foreach (var (key, value) in input)
        {
            if (!ClaimCatalog.ByKey.TryGetValue(key, out var claim))
            {
                errors.Add($"{field}.{key}", new(RegistryCodes.UnknownClaim, key, string.Join(", ", ClaimCatalog.ByKey.Keys)));
                continue;
            }

            if (!Enum.TryParse<ReleaseMode>(value, ignoreCase: true, out var mode) || !Enum.IsDefined(mode) || int.TryParse(value, out _))
            {
                errors.Add($"{field}.{key}", new(RegistryCodes.ModeValues));
                continue;
            }

            if (mode == ReleaseMode.Masked && !claim.Maskable)
            {
                errors.Add($"{field}.{key}", new(RegistryCodes.NotMaskable, key));
                continue;
            }

            modes.Add(KeyValuePair.Create(key, mode));
        }

        return errors.Count == before ? new ClaimReleasePolicy(modes) : null;
    }
}
