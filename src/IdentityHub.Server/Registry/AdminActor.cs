using IdentityHub.Server.Audit;

namespace IdentityHub.Server.Registry;

/// <summary>The registry's roles (ASP.NET Core Identity roles) and the claim that ties a department administrator to a department.</summary>
public static class AdminRoles
{
    /// <summary>Everything, in every department; also the bootstrap client-credentials token.</summary>
    public const string PlatformAdministrator = "platform-admin";

    /// <summary>Only the clients of their own department, within the department's ceiling.</summary>
    public const string DepartmentAdministrator = "department-admin";

    /// <summary>Reads everything, changes nothing.</summary>
    public const string Auditor = "auditor";

    /// <summary>Not a registry role: a service-hall clerk verifies citizens in person (L4) at /Hall.</summary>
    public const string ServiceHallClerk = "service-hall-clerk";

    /// <summary>User claim naming a department administrator's department (its code).</summary>
    public const string DepartmentClaim = "ih_department";

    public static readonly IReadOnlyList<string> All = [PlatformAdministrator, DepartmentAdministrator, Auditor, ServiceHallClerk];
}

public enum AdminRole
{
    Auditor,
    DepartmentAdministrator,
    PlatformAdministrator,
}

/// <summary>Who is asking, with what role: every registry operation takes one and checks it.</summary>
public sealed record AdminActor(AdminRole Role, string? DepartmentCode, AuditActor Audit)
{
    public bool IsPlatform => Role == AdminRole.PlatformAdministrator;

    /// <summary>Whether the actor may read what belongs to <paramref name="departmentCode"/>.</summary>
    public bool CanRead(string? departmentCode) =>
        Role is AdminRole.PlatformAdministrator or AdminRole.Auditor || (departmentCode is not null && departmentCode == DepartmentCode);

    /// <summary>Whether the actor may change the clients of <paramref name="departmentCode"/>.</summary>
    public bool CanManageClientsOf(string? departmentCode) =>
        IsPlatform || (Role == AdminRole.DepartmentAdministrator && departmentCode is not null && departmentCode == DepartmentCode);

    public static AdminActor System(string step) => new(AdminRole.PlatformAdministrator, null, AuditActor.System(step));
}
