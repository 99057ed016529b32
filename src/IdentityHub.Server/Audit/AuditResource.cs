namespace IdentityHub.Server;

/// <summary>Marker for the audit screens' strings in Resources/AuditResource.resx (zh-CN, the default) and AuditResource.en.resx.</summary>
public sealed class AuditResource;
