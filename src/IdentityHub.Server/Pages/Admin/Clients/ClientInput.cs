using IdentityHub.Server.Registry;

namespace IdentityHub.Server.Pages.Admin.Clients;

/// <summary>The client form of the console (register and edit): text areas hold one URI per line.</summary>
public sealed class ClientInput
{
    public string? ClientId { get; set; }

    public string? DepartmentCode { get; set; }

    public string? DisplayName { get; set; }

    public string? DisplayNameEn { get; set; }

    public string Kind { get; set; } = "web";

    public string? RedirectUris { get; set; }

    public string? PostLogoutRedirectUris { get; set; }

    public string? BackChannelLogoutUri { get; set; }

    public string? FrontChannelLogoutUri { get; set; }

    public List<string> Scopes { get; set; } = ["openid", "profile"];

    public string ConsentMode { get; set; } = "implicit";

    public string SubjectType { get; set; } = "pairwise";

    public int? AccessTokenSeconds { get; set; }

    public int? RefreshTokenSeconds { get; set; }

    /// <summary>Empty: the server's default algorithm.</summary>
    public string? IdTokenSignedResponseAlg { get; set; }

    public string? AccessTokenSignedResponseAlg { get; set; }

    /// <summary>Whether the client's refreshes return an ID token too (RefreshIdTokens); unticked by default.</summary>
    public bool IdTokenOnRefresh { get; set; }

    public ClientRegistrationRequest ToRequest() => new(
        ClientId?.Trim(), DepartmentCode, DisplayName, null, null, Lines(RedirectUris), Lines(PostLogoutRedirectUris), [.. Scopes], Kind,
        string.IsNullOrWhiteSpace(DisplayNameEn) ? null : DisplayNameEn, string.IsNullOrWhiteSpace(BackChannelLogoutUri) ? null : BackChannelLogoutUri.Trim(),
        ConsentMode, SubjectType, new TokenLifetimes(AccessTokenSeconds, null, RefreshTokenSeconds),
        FrontChannelLogoutUri: string.IsNullOrWhiteSpace(FrontChannelLogoutUri) ? null : FrontChannelLogoutUri.Trim(),
        IdTokenSignedResponseAlg: string.IsNullOrEmpty(IdTokenSignedResponseAlg) ? null : IdTokenSignedResponseAlg,
        AccessTokenSignedResponseAlg: string.IsNullOrEmpty(AccessTokenSignedResponseAlg) ? null : AccessTokenSignedResponseAlg,
        IdTokenOnRefresh: IdTokenOnRefresh ? true : null);

    public static ClientInput From(ClientResponse c) => new()
    {
        ClientId = c.ClientId,
        DepartmentCode = c.DepartmentCode,
        DisplayName = c.DisplayName,
        DisplayNameEn = c.DisplayNameEn,
        Kind = c.Kind,
        RedirectUris = string.Join("\n", c.RedirectUris),
        PostLogoutRedirectUris = string.Join("\n", c.PostLogoutRedirectUris),
        BackChannelLogoutUri = c.BackChannelLogoutUri,
        FrontChannelLogoutUri = c.FrontChannelLogoutUri,
        Scopes = [.. c.Scopes],
        ConsentMode = c.ConsentMode,
        SubjectType = c.SubjectType,
        AccessTokenSeconds = c.Lifetimes.AccessTokenSeconds,
        RefreshTokenSeconds = c.Lifetimes.RefreshTokenSeconds,
        IdTokenSignedResponseAlg = c.IdTokenSignedResponseAlg,
        AccessTokenSignedResponseAlg = c.AccessTokenSignedResponseAlg,
        IdTokenOnRefresh = c.IdTokenOnRefresh,
    };

    private static string[] Lines(string? text) =>
        (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
