using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace IdentityHub.Server.Audit;

/// <summary>An export ready to hand out: the file (deleted when closed), its row count and SHA-256.</summary>
public sealed record AuditExportFile(Stream Content, string ContentType, string FileName, int Count, string Sha256);

/// <summary>
/// CSV (RFC 4180, UTF-8 with BOM for spreadsheet programs) and JSON exports. The rows are written to a temporary
/// file while hashed; the audit.export event with that hash is committed before the first byte leaves, so
/// every export that anyone received is recorded with exactly what it contained.
/// </summary>
public sealed class AuditExport(AuditQueries queries, IAuditLog audit, IOptions<AuditOptions> options)
{
    private static readonly string[] Columns =
    [
        "id", "occurredAtUtc", "eventType", "outcome", "reason", "actorKind", "actorId", "actorName", "subjectId", "enterpriseId", "clientId",
        "departmentCode", "targetType", "targetId", "ipAddress", "userAgent", "sessionId", "correlationId", "before", "after", "data",
        "nodeId", "sequence", "hash",
    ];

    /// <summary>Null when more rows match than Audit:MaxExportRows.</summary>
    public async Task<AuditExportFile?> ExportAsync(AuditActor actor, AuditFilter filter, object filterDescription, string format,
        CancellationToken cancellationToken)
    {
        var csv = format == "csv";
        var file = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 64 * 1024,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            var count = 0;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var hashed = new HashingStream(file, sha))
            {
                count = csv ? await WriteCsvAsync(hashed, filter, cancellationToken) : await WriteJsonAsync(hashed, filter, cancellationToken);
            }

            if (count > options.Value.MaxExportRows)
            {
                await file.DisposeAsync();
                return null;
            }

            var digest = Convert.ToHexStringLower(sha.GetHashAndReset());
            await audit.WriteAsync(actor, new AuditExported(format, filterDescription, count, digest));
            file.Position = 0;
            var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            return new AuditExportFile(file, csv ? "text/csv; charset=utf-8" : "application/json", $"audit-{stamp}.{format}", count, digest);
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    private async Task<int> WriteCsvAsync(Stream stream, AuditFilter filter, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true), 64 * 1024, leaveOpen: true);
        writer.NewLine = "\r\n";
        await writer.WriteLineAsync(string.Join(',', Columns));
        var count = 0;
        await foreach (var row in queries.StreamAsync(filter).WithCancellation(cancellationToken))
        {
            if (++count > options.Value.MaxExportRows)
            {
                break;
            }

            await writer.WriteLineAsync(string.Join(',', Values(row).Select(Cell)));
        }

        return count;
    }

    private async Task<int> WriteJsonAsync(Stream stream, AuditFilter filter, CancellationToken cancellationToken)
    {
        await using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = AuditLog.Json.Encoder, Indented = false });
        json.WriteStartArray();
        var count = 0;
        await foreach (var row in queries.StreamAsync(filter).WithCancellation(cancellationToken))
        {
            if (++count > options.Value.MaxExportRows)
            {
                break;
            }

            JsonSerializer.Serialize(json, row, AuditLog.Json);
            if (json.BytesPending > 32 * 1024)
            {
                await json.FlushAsync(cancellationToken);
            }
        }

        json.WriteEndArray();
        await json.FlushAsync(cancellationToken);
        return count;
    }

    private static IEnumerable<string?> Values(AuditRow r) =>
    [
        r.Id.ToString(CultureInfo.InvariantCulture), AuditHash.FormatTime(r.OccurredAtUtc), r.EventType, r.Outcome, r.Reason, r.ActorKind, r.ActorId,
        r.ActorName, r.SubjectId, r.EnterpriseId, r.ClientId, r.DepartmentCode, r.TargetType, r.TargetId, r.IpAddress, r.UserAgent, r.SessionId,
        r.CorrelationId, r.Before, r.After, r.Data, r.NodeId, r.Sequence?.ToString(CultureInfo.InvariantCulture), r.Hash,
    ];

    /// <summary>RFC 4180 quoting; a leading = + - @ is prefixed with ' so that a spreadsheet never runs it as a formula (OWASP CSV injection).</summary>
    internal static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <summary>Passes writes through to the file and into the hash.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            hash.AppendData(buffer, offset, count);
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hash.AppendData(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        // The file stays open: the caller hands it out after the hash is known.
        protected override void Dispose(bool disposing)
        {
            inner.Flush();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync() => await inner.FlushAsync();
    }
}
