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

    public DepartmentStatus Status { get; set; } = DepartmentStatus.Active;

    public DateTime CreatedAtUtc { get; set; } = DateTime.UtcNow;
}
