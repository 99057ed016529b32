namespace IdentityHub.Server.Pages.Admin;

/// <summary>Model of the _ClaimMatrix partial: a policy (or ceiling) as radio buttons, with the ceiling beside it.</summary>
public sealed record ClaimMatrix(string Name, IReadOnlyDictionary<string, string> Modes, IReadOnlyDictionary<string, string>? Ceiling, bool ReadOnly);
