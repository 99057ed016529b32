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
/// The answer of a registry operation, shared by the API (RFC 9457 problems, in English) and the console
/// (form messages in the person's language): every message is a <see cref="RegistryMessage"/>, a code with
/// arguments. Whatever is not Ok has changed nothing.
/// </summary>
public sealed record RegistryResult<T>(RegistryOutcome Outcome, T? Value, FieldErrors? Errors = null, string? Field = null,
    RegistryMessage? Message = null)
{
    public bool IsOk => Outcome == RegistryOutcome.Ok;

    public static RegistryResult<T> Ok(T value) => new(RegistryOutcome.Ok, value);

    public static RegistryResult<T> Invalid(FieldErrors errors) => new(RegistryOutcome.Invalid, default, errors);

    public static RegistryResult<T> Invalid(string field, RegistryMessage message)
    {
        var errors = new FieldErrors();
        errors.Add(field, message);
        return new(RegistryOutcome.Invalid, default, errors);
    }

    public static RegistryResult<T> NotFound(RegistryMessage message) => new(RegistryOutcome.NotFound, default, Message: message);

    public static RegistryResult<T> Forbidden(RegistryMessage message) => new(RegistryOutcome.Forbidden, default, Message: message);

    public static RegistryResult<T> Conflict(string field, RegistryMessage message) => new(RegistryOutcome.Conflict, default, Field: field, Message: message);

    /// <summary>The same failure, for an operation of another result type.</summary>
    public RegistryResult<TOther> As<TOther>() => new(Outcome, default, Errors, Field, Message);

    /// <summary>Every message with the field it is about (null for a message about the whole operation).</summary>
    public IEnumerable<(string? Field, RegistryMessage Message)> Messages() => Errors is not null
        ? Errors.All.SelectMany(e => e.Value.Select(m => ((string?)e.Key, m)))
        : Message is null ? [] : [(null, Message)];
}

public sealed record Paged<T>(IReadOnlyList<T> Items, int Total, int Page, int PageSize);

/// <summary>Page numbers start at 1; at most 200 rows a page.</summary>
public sealed record PageRequest(int Page = 1, int PageSize = 50)
{
    public int SafePage => Math.Max(1, Page);

    public int SafePageSize => Math.Clamp(PageSize, 1, 200);

    public int Skip => (SafePage - 1) * SafePageSize;
}
