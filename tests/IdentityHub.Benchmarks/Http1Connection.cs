using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IdentityHub.Benchmarks;

/// <summary>
/// A minimal HTTP/1.1 client over one blocking loopback socket (RFC 9112), for the load generator: a worker owns one
/// connection and sends one request at a time on it (keep-alive), written into a reused buffer (request line, Host,
/// the caller's headers, the flow's Cookie header, Content-Type and Content-Length for a body); the answer is read into a
/// reused buffer and parsed in bytes: status, Location, Set-Cookie (into the flow's <see cref="CookieJar"/>), and a body
/// framed by Content-Length or chunked transfer coding (or by the connection's close). No thread pool, no epoll, no
/// request/response objects: the generator's CPU per request is the two system calls and a few copies, so that it takes
/// as little as possible from the server it measures on the same cores (docs/benchmarks.md, twelfth session).
/// </summary>
public sealed partial class Http1Connection : IDisposable
{
    private const int MaxHeaderBytes = 64 * 1024;
    private readonly EndPoint _endPoint;
    private readonly byte[] _requestLineEnd;
    private Socket? _socket;
    private byte[] _out = new byte[4096];
    private int _outLength;
    private byte[] _form = new byte[1024];
    private int _formLength;
    private CookieJar? _jar;
    private byte[] _in = new byte[16 * 1024];
    private int _inEnd;
    private int _bodyStart;
    private int _bodyLength;
    private bool _close;

    public Http1Connection(string baseUrl)
    {
        var uri = new Uri(baseUrl);
        if (uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException("The load generator speaks plain HTTP on loopback: " + baseUrl);
        }

        BaseAuthority = uri.GetLeftPart(UriPartial.Authority);
        _endPoint = IPAddress.TryParse(uri.Host, out var address)
            ? new IPEndPoint(address, uri.Port)
            : new DnsEndPoint(uri.Host, uri.Port);
        _requestLineEnd = Encoding.ASCII.GetBytes(" HTTP/1.1\r\nHost: " + uri.Authority + "\r\n");
    }

    /// <summary>scheme://host:port of the server, as an absolute Location naming it starts.</summary>
    public string BaseAuthority { get; }

    /// <summary>The last answer's status code.</summary>
    public int Status { get; private set; }

    /// <summary>The last answer's Location header, if any.</summary>
    public string? Location { get; private set; }

    /// <summary>The last answer's body, valid until the next request on this connection.</summary>
    public ReadOnlySpan<byte> Body => _in.AsSpan(_bodyStart, _bodyLength);

    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>Starts a request: its request line and Host header; <paramref name="jar"/> sends and keeps the flow's cookies.</summary>
    public Http1Connection Start(string method, string target, CookieJar? jar = null)
    {
        _outLength = 0;
        _formLength = 0;
        _jar = jar;
        AppendAscii(method);
        Append(" "u8);
        AppendAscii(target);
        Append(_requestLineEnd);
        if (jar is { Count: > 0 })
        {
            Append("Cookie: "u8);
            jar.WriteTo(this);
            Append("\r\n"u8);
        }

        return this;
    }

    /// <summary>A header line already encoded ("Name: value\r\n"), e.g. a client's Basic credentials.</summary>
    public Http1Connection Header(ReadOnlySpan<byte> line)
    {
        Append(line);
        return this;
    }

    /// <summary>One application/x-www-form-urlencoded field of the body, encoded as FormUrlEncodedContent does.</summary>
    public Http1Connection Form(string name, string value)
    {
        if (_formLength > 0)
        {
            FormByte((byte)'&');
        }

        FormEncode(name);
        FormByte((byte)'=');
        FormEncode(value);
        return this;
    }

    /// <summary>Sends the request (with its form body, if any field was added) and reads the whole answer.</summary>
    public int Send()
    {
        if (_formLength > 0)
        {
            Append("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "u8);
            AppendNumber(_formLength);
            Append("\r\n\r\n"u8);
            Append(_form.AsSpan(0, _formLength));
        }
        else
        {
            Append("\r\n"u8);
        }

        return SendEncoded(_out.AsSpan(0, _outLength));
    }

    /// <summary>A request encoded beforehand (<see cref="Encode"/>): sends it and reads the whole answer.</summary>
    public int SendEncoded(ReadOnlySpan<byte> request)
    {
        // A kept-alive connection the server closed in the meantime fails before any byte of the answer: open a new
        // one and send again, as HttpClient's pool does; any other failure is the request's.
        for (var attempt = 0; ; attempt++)
        {
            var reused = Connect();
            _inEnd = 0;
            try
            {
                var socket = _socket!;
                for (var sent = 0; sent < request.Length;)
                {
                    sent += socket.Send(request[sent..]);
                }

                if (ReadResponse())
                {
                    return Status;
                }
            }
            catch (SocketException e) when (reused && attempt == 0 && _inEnd == 0 && e.SocketErrorCode != SocketError.TimedOut)
            {
            }
            catch
            {
                Drop();
                throw;
            }

            Drop();
            if (!reused || attempt > 0)
            {
                throw new IOException("the server closed the connection before answering");
            }
        }
    }

    /// <summary>A whole request as bytes, sent as it is by every worker: the static and rotating plans.</summary>
    public static byte[] Encode(string baseUrl, string method, string target, IEnumerable<KeyValuePair<string, string>> headers,
        string? body, string contentType)
    {
        var s = new StringBuilder().Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\nHost: ")
            .Append(new Uri(baseUrl).Authority).Append("\r\n");
        foreach (var (name, value) in headers)
        {
            s.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        var content = body is null ? null : Encoding.UTF8.GetBytes(body);
        if (content is not null)
        {
            s.Append("Content-Type: ").Append(contentType).Append("\r\nContent-Length: ").Append(content.Length).Append("\r\n");
        }

        s.Append("\r\n");
        return [.. Encoding.UTF8.GetBytes(s.ToString()), .. content ?? []];
    }

    public void Dispose() => Drop();

    private bool Connect()
    {
        if (_socket is not null && !_close)
        {
            return true;
        }

        Drop();
        var socket = new Socket(_endPoint.AddressFamily == AddressFamily.Unspecified ? AddressFamily.InterNetwork : _endPoint.AddressFamily,
            SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveTimeout = 60_000,
            SendTimeout = 60_000,
        };
        socket.Connect(_endPoint);
        _socket = socket;
        _close = false;
        return false;
    }

    private void Drop()
    {
        _socket?.Dispose();
        _socket = null;
        _inEnd = 0;
    }

    internal void Append(ReadOnlySpan<byte> bytes)
    {
        if (_outLength + bytes.Length > _out.Length)
        {
            Array.Resize(ref _out, Math.Max(_out.Length * 2, _outLength + bytes.Length));
        }

        bytes.CopyTo(_out.AsSpan(_outLength));
        _outLength += bytes.Length;
    }

    private void AppendAscii(string text)
    {
        if (_outLength + text.Length > _out.Length)
        {
            Array.Resize(ref _out, Math.Max(_out.Length * 2, _outLength + text.Length));
        }

        if (System.Text.Ascii.FromUtf16(text, _out.AsSpan(_outLength), out var written) != OperationStatus.Done)
        {
            throw new ArgumentException("not ASCII: " + text);
        }

        _outLength += written;
    }

    private void AppendNumber(int value)
    {
        Span<byte> digits = stackalloc byte[11];
        Utf8Formatter.TryFormat(value, digits, out var written);
        Append(digits[..written]);
    }

    private void FormByte(byte b)
    {
        if (_formLength == _form.Length)
        {
            Array.Resize(ref _form, _form.Length * 2);
        }

        _form[_formLength++] = b;
    }

    private static readonly SearchValues<char> Unreserved =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");

    /// <summary>
    /// Uri.EscapeDataString of the UTF-8 bytes, with %20 as '+' (FormUrlEncodedContent's encoding): runs of unreserved
    /// characters (RFC 3986 section 2.3; all of a token, a code or a verifier) copied at once, anything else escaped.
    /// </summary>
    private void FormEncode(string value)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var rest = value.AsSpan(); !rest.IsEmpty;)
        {
            var plain = rest.IndexOfAnyExcept(Unreserved);
            var run = plain < 0 ? rest : rest[..plain];
            if (_formLength + run.Length > _form.Length)
            {
                Array.Resize(ref _form, Math.Max(_form.Length * 2, _formLength + run.Length));
            }

            _formLength += Encoding.ASCII.GetBytes(run, _form.AsSpan(_formLength));
            rest = rest[run.Length..];
            if (rest.IsEmpty)
            {
                break;
            }

            Rune.DecodeFromUtf16(rest, out var rune, out var used);
            rest = rest[used..];
            foreach (var b in utf8[..rune.EncodeToUtf8(utf8)])
            {
                if (b == (byte)' ')
                {
                    FormByte((byte)'+');
                }
                else
                {
                    FormByte((byte)'%');
                    FormByte((byte)"0123456789ABCDEF"[b >> 4]);
                    FormByte((byte)"0123456789ABCDEF"[b & 15]);
                }
            }
        }
    }
}
