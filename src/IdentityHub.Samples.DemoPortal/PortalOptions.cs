namespace IdentityHub.Samples.DemoPortal;

/// <summary>
/// Section "Portal": which department app this instance is. The same sample runs as the demo portal, the
/// social security portal and the housing provident fund portal (launch profiles in Properties/launchSettings.json).
/// </summary>
public sealed class PortalOptions
{
    public const string Section = "Portal";

    /// <summary>The portal's name, shown in its header. Default 演示部门网上办事大厅.</summary>
    public string Name { get; set; } = "演示部门网上办事大厅";

    public string EnglishName { get; set; } = "Demo portal";

    /// <summary>Header colour (CSS), so that two portals side by side are told apart. Default #0d47a1.</summary>
    public string Color { get; set; } = "#0d47a1";

    /// <summary>
    /// Where the data protection keys (which protect the portal's cookie) are kept; empty for the framework's default.
    /// A fixed directory keeps people signed in across a restart.
    /// </summary>
    public string? KeyDirectory { get; set; }
}
