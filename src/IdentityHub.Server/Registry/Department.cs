namespace IdentityHub.Server.Registry;

public enum DepartmentStatus
{
    Active,
    Suspended,
}

/// <summary>A city department (utilities, civil affairs, ...) that owns OIDC clients.</summary>
public sealed class Department
{
    public const int CodeMaxLength = 32;

    public string Id { get; set; } = Guid.NewGuid().ToString("N");

    /// <summary>Short stable code, lower case, e.g. "hrss".</summary>
    public required string Code { get; set; }

    /// <summary>Name in Simplified Chinese.</summary>
    public required string Name { get; set; }

    public string? NameEn { get; set; }

    /// <summary>Who to call about the department's apps (free text: office, phone, e-mail).</summary>
    public string? Contact { get; set; }

    /// <summary>Suspended: none of the department's clients obtains a token (checked on every request).</summary>
    public DepartmentStatus Status { get; set; } = DepartmentStatus.Active;

    /// <summary>
    /// Sector identifier of pairwise subjects (OIDC Core section 8.1); null means the code. Every client of
    /// the department sees the same sub for a person, other departments see another.
    /// </summary>
    public string? SectorId { get; set; }

    /// <summary>Ceiling claim policy (JSON, <see cref="ClaimReleasePolicy"/>) set by a platform administrator; null is the default ceiling.</summary>
    public string? ClaimCeiling { get; set; }

    /// <summary>Whether the city allows this department's clients public subjects (one sub across departments).</summary>
    public bool AllowPublicSubject { get; set; }

    public DateTime CreatedAtUtc { get; set; } = DateTime.UtcNow;

    public DateTime UpdatedAtUtc { get; set; } = DateTime.UtcNow;

    public string EffectiveSectorId => string.IsNullOrEmpty(SectorId) ? Code : SectorId;
}
