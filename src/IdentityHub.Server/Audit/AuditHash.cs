using System.Globalization;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace IdentityHub.Server.Audit;

/// <summary>
/// The canonical content of a chain row and its hash. Hash = lowercase hex SHA-256 over the UTF-8 JSON array
/// ["ih-audit-v1", nodeId, occurredAt (yyyy-MM-ddTHH:mm:ss.ffffffZ), category, eventType, outcome, reason,
/// actorKind, actorId, actorName, subjectId, enterpriseId, clientId, departmentCode, targetType, targetId,
/// ipAddress, userAgent, sessionId, correlationId, before, after, data, previousHash] (nulls as JSON null).
/// The database id and the sequence are not part of it: the link to the previous hash fixes the order, so a
/// renumbered or swapped row shows as out of order rather than as altered (<see cref="AuditChainWalker"/>).
/// </summary>
public static class AuditHash
{
    public const string Version = "ih-audit-v1";

    /// <summary>The previous hash of a chain's first row.</summary>
    public static readonly string Genesis = new('0', 64);

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // One buffer and writer per thread, reset for each row: sealing a batch allocates only the hash strings.
    [ThreadStatic]
    private static (System.Buffers.ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Json)? _scratch;

    public static string Compute(AuditEvent e)
    {
        var (buffer, json) = _scratch ??= NewScratch();
        buffer.ResetWrittenCount();
        json.Reset(buffer);
        // Written field by field (no array of the values, no timestamp string): the canonical order below.
        json.WriteStartArray();
        json.WriteStringValue(Version);
        Write(json, e.NodeId);
        Span<char> time = stackalloc char[TimeLength];
        json.WriteStringValue(time[..FormatTime(e.OccurredAtUtc, time)]);
        Write(json, e.Category);
        Write(json, e.EventType);
        Write(json, e.Outcome);
        Write(json, e.Reason);
        Write(json, e.ActorKind);
        Write(json, e.ActorId);
        Write(json, e.ActorName);
        Write(json, e.SubjectId);
        Write(json, e.EnterpriseId);
        Write(json, e.ClientId);
        Write(json, e.DepartmentCode);
        Write(json, e.TargetType);
        Write(json, e.TargetId);
        Write(json, e.IpAddress);
        Write(json, e.UserAgent);
        Write(json, e.SessionId);
        Write(json, e.CorrelationId);
        Write(json, e.Before);
        Write(json, e.After);
        Write(json, e.Data);
        Write(json, e.PreviousHash);
        json.WriteEndArray();
        json.Flush();
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return Convert.ToHexStringLower(hash);
    }

    private static (System.Buffers.ArrayBufferWriter<byte>, Utf8JsonWriter) NewScratch()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        return (buffer, new Utf8JsonWriter(buffer, WriterOptions));
    }

    /// <summary>Microsecond precision (PostgreSQL's), so that a stored and re-read timestamp hashes the same.</summary>
    public static DateTime Truncate(DateTime value) =>
        new(value.Ticks - value.Ticks % 10, DateTimeKind.Utc);

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    private const int TimeLength = 27;

    public static string FormatTime(DateTime value) =>
        DateTime.SpecifyKind(value, DateTimeKind.Utc).ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static int FormatTime(DateTime value, Span<char> destination) =>
        DateTime.SpecifyKind(value, DateTimeKind.Utc).TryFormat(destination, out var written, TimeFormat, CultureInfo.InvariantCulture)
            ? written
            : throw new InvalidOperationException("An audit timestamp outside years 0001-9999.");

    private static void Write(Utf8JsonWriter json, string? value)
    {
        if (value is null)
        {
            json.WriteNullValue();
        }
        else
        {
            json.WriteStringValue(value);
        }
    }
}
