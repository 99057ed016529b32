using System.Text.Json;
using IdentityHub.Server.Registry;
using Microsoft.AspNetCore.Http.HttpResults;

namespace IdentityHub.Server.Api;

/// <summary>
/// Reads a JSON request body so that a malformed body becomes an RFC 9457 problem naming the
/// offending field (the JSON path), instead of the framework's bare 400.
/// </summary>
public static class JsonBody
{
    public static async Task<(T? Value, ValidationProblem? Problem)> ReadAsync<T>(HttpRequest request) where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, Invalid("body", "The body must be JSON (Content-Type: application/json)."));
        }

        try
        {
            var value = await request.ReadFromJsonAsync<T>(request.HttpContext.RequestAborted);
            return value is null ? (null, Invalid("body", "The body must be a JSON object.")) : (value, null);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            return (null, Invalid(field, "The value is not valid JSON of the expected type."));
        }
    }

    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });
}

/// <summary>
/// Collects field errors, keyed by the JSON field name: coded messages (<see cref="RegistryMessage"/>) that
/// the API renders in English (one ValidationProblem) and the console in the person's language.
/// </summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<RegistryMessage>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    /// <summary>How many messages were added so far.</summary>
    public int Count => _errors.Values.Sum(l => l.Count);

    public IReadOnlyDictionary<string, List<RegistryMessage>> All => _errors;

    public void Add(string field, RegistryMessage message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
    }

    public ValidationProblem ToProblem() =>
        TypedResults.ValidationProblem(_errors.ToDictionary(e => e.Key, e => e.Value.Select(m => m.English()).ToArray()));
}

public static class Problems
{
    /// <summary>409: the resource exists already (RFC 9110 section 15.5.10).</summary>
    public static ProblemHttpResult Conflict(string field, string detail) =>
        TypedResults.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Title = "Conflict",
            Detail = detail,
            Type = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10",
            Extensions = { ["field"] = field },
        });
}
