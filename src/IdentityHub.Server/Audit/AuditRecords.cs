namespace IdentityHub.Server.Audit;

/// <summary>Who did it: a person (user id), a client acting for itself (client id), or the server itself.</summary>
public sealed record AuditActor(string Kind, string Id, string? Name)
{
    public static AuditActor System(string step) => new("system", step, null);

    public static AuditActor User(string id, string? name) => new("user", id, name);

    public static AuditActor Client(string clientId) => new("client", clientId, null);
}

/// <summary>
/// A typed audit event: what happened to which target, with the target's state before and after.
/// Each concrete record names its event type once; <see cref="IAuditLog"/> writes it. The optional
/// properties describe identity events (outcome, the person concerned, the client, the session); the request's
/// IP, user agent and correlation id are added by <see cref="IAuditLog"/> itself.
/// </summary>
public abstract record AuditRecord(string TargetId, string? DepartmentCode, object? Before, object? After)
{
    /// <summary>"category.what[.detail]": the first segment is the retention class (Audit:Retention).</summary>
    public abstract string EventType { get; }

    public abstract string TargetType { get; }

    /// <summary><see cref="AuditOutcomes.Success"/> (default) or <see cref="AuditOutcomes.Failure"/>.</summary>
    public virtual string Outcome { get; init; } = AuditOutcomes.Success;

    /// <summary>Why it failed, as a short machine-readable code.</summary>
    public virtual string? Reason { get; init; }

    /// <summary>Internal account id of the person concerned; never an ID number.</summary>
    public virtual string? SubjectId { get; init; }

    /// <summary>The enterprise the actor acted for, where different from the person.</summary>
    public virtual string? EnterpriseId { get; init; }

    public virtual string? ClientId { get; init; }

    /// <summary>The SSO session (sid); when null, the sid of the signed-in caller, if any.</summary>
    public virtual string? SessionId { get; init; }

    /// <summary>Details serialised as JSON: names, ids and counts only, never a claim value or a secret.</summary>
    public virtual object? Data { get; init; }

    /// <summary>
    /// <see cref="Data"/> as the audit row stores it (<see cref="AuditLog.Json"/>'s serialisation); a record on a hot path
    /// may write the same text itself.
    /// </summary>
    public virtual string? DataJson() => AuditLog.Serialize(Data);
}

public enum RegistryChange
{
    Created,
    Updated,
    Suspended,
    Activated,
    Disabled,
    Enabled,
    Deleted,
}

public sealed record DepartmentChanged(RegistryChange Change, string Code, object? Before, object? After)
    : AuditRecord(Code, Code, Before, After)
{
    public override string EventType => "registry.department." + Change.ToString().ToLowerInvariant();

    public override string TargetType => "department";
}

public sealed record DepartmentCeilingChanged(string Code, object? Before, object? After) : AuditRecord(Code, Code, Before, After)
{
    public override string EventType => "registry.department.ceiling_changed";

    public override string TargetType => "department";
}

public sealed record ClientChanged(RegistryChange Change, string ClientId, string? Department, object? Before, object? After)
    : AuditRecord(ClientId, Department, Before, After)
{
    public override string EventType => "registry.client." + Change.ToString().ToLowerInvariant();

    public override string TargetType => "client";
}

public sealed record ClientPolicyChanged(string ClientId, string? Department, object? Before, object? After)
    : AuditRecord(ClientId, Department, Before, After)
{
    public override string EventType => "registry.client.policy_changed";

    public override string TargetType => "client";
}

/// <summary>Before/after hold the secret's metadata (id, hint, expiry), never the secret.</summary>
public sealed record ClientSecretChanged(bool Added, string ClientId, string? Department, object? Before, object? After)
    : AuditRecord(ClientId, Department, Before, After)
{
    public override string EventType => Added ? "registry.client.secret_added" : "registry.client.secret_revoked";

    public override string TargetType => "client";
}

public sealed record UserRolesChanged(string UserId, object? Before, object? After) : AuditRecord(UserId, null, Before, After)
{
    public override string EventType => "registry.user.roles_changed";

    public override string TargetType => "user";
}
