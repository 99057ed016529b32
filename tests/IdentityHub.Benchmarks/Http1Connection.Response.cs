using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace IdentityHub.Benchmarks;

/// <summary>The answer's side of <see cref="Http1Connection"/>: the header parsed in bytes, the body framed (RFC 9112 section 6).</summary>
public sealed partial class Http1Connection
{
    /// <summary>Reads one answer; false when the connection was closed before its first byte.</summary>
    private bool ReadResponse()
    {
        int headerEnd;
        while ((headerEnd = _in.AsSpan(0, _inEnd).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (_inEnd >= MaxHeaderBytes)
            {
                throw new IOException("the answer's header is longer than " + MaxHeaderBytes + " bytes");
            }

            if (!Fill())
            {
                if (_inEnd == 0)
                {
                    return false;
                }

                throw new IOException("the server closed the connection inside an answer's header");
            }
        }

        var head = _in.AsSpan(0, headerEnd);
        var lineEnd = head.IndexOf("\r\n"u8);
        var statusLine = lineEnd < 0 ? head : head[..lineEnd];
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out _))
        {
            throw new IOException("not an HTTP/1.x status line: " + Encoding.ASCII.GetString(statusLine));
        }

        Status = status;
        Location = null;
        long contentLength = -1;
        var chunked = false;
        _close = statusLine[7] == (byte)'0';
        for (var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..]; !rest.IsEmpty;)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                contentLength = Utf8Parser.TryParse(value, out long n, out var used) && used == value.Length
                    ? n : throw new IOException("a bad Content-Length");
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                chunked = value.EndsWith("chunked"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                _close = Ascii.EqualsIgnoreCase(value, "close"u8) || (_close && !Ascii.EqualsIgnoreCase(value, "keep-alive"u8));
            }
            else if (Ascii.EqualsIgnoreCase(name, "Location"u8))
            {
                Location = Encoding.UTF8.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Set-Cookie"u8))
            {
                _jar?.Set(value);
            }
        }

        _bodyStart = headerEnd + 4;
        if (status is 204 or 304 || status < 200)
        {
            _bodyLength = 0;
        }
        else if (chunked)
        {
            ReadChunked();
        }
        else if (contentLength >= 0)
        {
            Need(_bodyStart + (int)contentLength);
            _bodyLength = (int)contentLength;
        }
        else
        {
            // Neither length nor chunks: the body ends with the connection (RFC 9112 section 6.3).
            while (Fill())
            {
            }

            _bodyLength = _inEnd - _bodyStart;
            _close = true;
        }

        if (_bodyStart + _bodyLength != _inEnd)
        {
            // One request at a time: bytes after the answer are a protocol error, not a pipelined answer.
            throw new IOException("the server sent more than one answer");
        }

        return true;
    }

    /// <summary>Chunked transfer coding (RFC 9112 section 7.1): the chunks' data moved together in place, trailers skipped.</summary>
    private void ReadChunked()
    {
        var write = _bodyStart;
        var read = _bodyStart;
        while (true)
        {
            int lineEnd;
            while ((lineEnd = _in.AsSpan(read, _inEnd - read).IndexOf("\r\n"u8)) < 0)
            {
                NeedMore();
            }

            var sizeText = _in.AsSpan(read, lineEnd);
            var extension = sizeText.IndexOf((byte)';');
            if (extension >= 0)
            {
                sizeText = sizeText[..extension];
            }

            sizeText = sizeText.Trim((byte)' ');
            if (!Utf8Parser.TryParse(sizeText, out int size, out var consumed, 'X') || consumed != sizeText.Length || size < 0)
            {
                throw new IOException("a bad chunk size");
            }

            read += lineEnd + 2;
            if (size == 0)
            {
                // Trailer fields, then the empty line that ends the message.
                while (true)
                {
                    int end;
                    while ((end = _in.AsSpan(read, _inEnd - read).IndexOf("\r\n"u8)) < 0)
                    {
                        NeedMore();
                    }

                    read += end + 2;
                    if (end == 0)
                    {
                        break;
                    }
                }

                _bodyLength = write - _bodyStart;
                _inEnd = read == _inEnd ? write : throw new IOException("the server sent more than one answer");
                return;
            }

            Need(read + size + 2);
            if (!_in.AsSpan(read + size, 2).SequenceEqual("\r\n"u8))
            {
                throw new IOException("a chunk not followed by CRLF");
            }

            _in.AsSpan(read, size).CopyTo(_in.AsSpan(write));
            write += size;
            read += size + 2;
        }
    }

    private void Need(int bytes)
    {
        while (_inEnd < bytes)
        {
            NeedMore();
        }
    }

    private void NeedMore()
    {
        if (!Fill())
        {
            throw new IOException("the server closed the connection inside an answer");
        }
    }

    private bool Fill()
    {
        if (_inEnd == _in.Length)
        {
            Array.Resize(ref _in, _in.Length * 2);
        }

        var read = _socket!.Receive(_in, _inEnd, _in.Length - _inEnd, SocketFlags.None);
        _inEnd += read;
        return read > 0;
    }
}
