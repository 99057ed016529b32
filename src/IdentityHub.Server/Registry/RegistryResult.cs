using IdentityHub.Server.Api;

namespace IdentityHub.Server.Registry;

public enum RegistryOutcome
{
    Ok,
    Invalid,
    NotFound,
    Forbidden,
    Conflict,
}

/// <summary>
/// The answer of a registry operation, shared by the API (RFC 9457 problems) and the console (form
/// messages). Whatever is not Ok has changed nothing.
/// </summary>
public sealed record RegistryResult<T>(RegistryOutcome Outcome, T? Value, FieldErrors? Errors = null, string? Field = null, string? Message = null)
{
    public bool IsOk => Outcome == RegistryOutcome.Ok;

    public static RegistryResult<T> Ok(T value) => new(RegistryOutcome.Ok, value);

    public static RegistryResult<T> Invalid(FieldErrors errors) => new(RegistryOutcome.Invalid, default, errors);

    public static RegistryResult<T> Invalid(string field, string message)
    {
        var errors = new FieldErrors();
        errors.Add(field, message);
        return new(RegistryOutcome.Invalid, default, errors);
    }

    public static RegistryResult<T> NotFound(string message) => new(RegistryOutcome.NotFound, default, Message: message);

    public static RegistryResult<T> Forbidden(string message) => new(RegistryOutcome.Forbidden, default, Message: message);

    public static RegistryResult<T> Conflict(string field, string message) => new(RegistryOutcome.Conflict, default, Field: field, Message: message);

    /// <summary>The same failure, for an operation of another result type.</summary>
    public RegistryResult<TOther> As<TOther>() => new(Outcome, default, Errors, Field, Message);

    /// <summary>Every message, for a form.</summary>
    public IEnumerable<string> Messages() => Errors is not null
        ? Errors.All.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}"))
        : Message is null ? [] : [Message];
}

public sealed record Paged<T>(IReadOnlyList<T> Items, int Total, int Page, int PageSize);

/// <summary>Page numbers start at 1; at most 200 rows a page.</summary>
public sealed record PageRequest(int Page = 1, int PageSize = 50)
{
    public int SafePage => Math.Max(1, Page);

    public int SafePageSize => Math.Clamp(PageSize, 1, 200);

    public int Skip => (SafePage - 1) * SafePageSize;
}
