namespace IdentityHub.Server;

/// <summary>Marker for the UI strings in Resources/SharedResource.resx (zh-CN, the default) and SharedResource.en.resx.</summary>
public sealed class SharedResource;
