using OpenIddict.EntityFrameworkCore.Models;

namespace IdentityHub.Server.Registry;

// OpenIddict's entities, with one addition: every application (client) belongs to a department.
// A foreign key, rather than a property bag entry, lets "suspend a department" stop all its clients
// with one indexed lookup. String keys are generated here, as OpenIddict's default entities do.

public sealed class HubApplication : OpenIddictEntityFrameworkCoreApplication<string, HubAuthorization, HubToken>
{
    public HubApplication() => Id = Guid.NewGuid().ToString();

    public string? DepartmentId { get; set; }

    public Department? Department { get; set; }
}

public sealed class HubAuthorization : OpenIddictEntityFrameworkCoreAuthorization<string, HubApplication, HubToken>
{
    public HubAuthorization() => Id = Guid.NewGuid().ToString();
}

public sealed class HubScope : OpenIddictEntityFrameworkCoreScope<string>
{
    public HubScope() => Id = Guid.NewGuid().ToString();
}

public sealed class HubToken : OpenIddictEntityFrameworkCoreToken<string, HubApplication, HubAuthorization>
{
    public HubToken() => Id = Guid.NewGuid().ToString();
}
