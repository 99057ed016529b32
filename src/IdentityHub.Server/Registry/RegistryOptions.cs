namespace IdentityHub.Server.Registry;

/// <summary>Section "Registry". Defaults are stated on each property.</summary>
public sealed class RegistryOptions
{
    public const string Section = "Registry";

    /// <summary>How long a newly issued client secret stays valid unless the request says otherwise. Default 365 days.</summary>
    public TimeSpan SecretLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>
    /// The city's departments, imported at every start (only missing ones are created, so the import is
    /// idempotent and never undoes an administrator's change). Relative to the content root, then to the
    /// application directory. Default "config/departments.json"; empty disables the import.
    /// </summary>
    public string DepartmentsFile { get; set; } = "config/departments.json";

    /// <summary>
    /// How long this node keeps a client (application, active secret hashes, policy) in memory at most, even without
    /// any change (<see cref="ClientCache"/>; every committed change empties the cache at once). Default 1 minute.
    /// </summary>
    public TimeSpan ClientCacheLifetime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How many clients this node keeps in memory at most; further clients are read per request. Default 10,000.</summary>
    public int ClientCacheSize { get; set; } = 10_000;

    /// <summary>
    /// Shared mode: how often at most a node compares the shared client generation in Redis, the backstop for a lost
    /// change signal (a change on another node applies here within this interval). Default 1 second.
    /// </summary>
    public TimeSpan ClientCacheCheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Section "Subjects": pairwise subject identifiers (OIDC Core section 8.1).</summary>
public sealed class SubjectOptions
{
    public const string Section = "Subjects";

    /// <summary>Used in Development when no secret is configured. Never valid elsewhere.</summary>
    public const string DevelopmentSecret = "identityhub-development-pairwise-secret-not-for-production";

    /// <summary>
    /// HMAC-SHA256 key of pairwise subjects: at least 32 characters, required outside Development. Changing
    /// it changes every pairwise sub; keep it as long as the departments keep their user records.
    /// </summary>
    public string? PairwiseSecret { get; set; }
}
