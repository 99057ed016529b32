using System.Text;

namespace IdentityHub.Benchmarks;

/// <summary>
/// One browser's cookies for one flow (a new jar per sign-in: a new browser each time), kept as the bytes the server
/// sent: Set-Cookie's name=value (RFC 6265 section 5.2) replaces a cookie of that name, an empty value or an expiry in
/// 1970 (how ASP.NET Core deletes one) removes it, and the Cookie header sends them all in the order first set.
/// </summary>
public sealed class CookieJar
{
    private readonly List<(byte[] Name, byte[] Value)> _cookies = [];

    public int Count => _cookies.Count;

    /// <summary>The value of a Set-Cookie header field.</summary>
    public void Set(ReadOnlySpan<byte> setCookie)
    {
        var end = setCookie.IndexOf((byte)';');
        var pair = end < 0 ? setCookie : setCookie[..end];
        var eq = pair.IndexOf((byte)'=');
        if (eq <= 0)
        {
            return;
        }

        var name = pair[..eq].Trim((byte)' ');
        var value = pair[(eq + 1)..].Trim((byte)' ');
        var attributes = end < 0 ? [] : setCookie[end..];
        var expired = attributes.IndexOf("1970"u8) >= 0
            && Encoding.ASCII.GetString(attributes).Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase);
        var index = -1;
        for (var i = 0; i < _cookies.Count && index < 0; i++)
        {
            index = name.SequenceEqual(_cookies[i].Name) ? i : -1;
        }

        if (value.IsEmpty || expired)
        {
            if (index >= 0)
            {
                _cookies.RemoveAt(index);
            }
        }
        else if (index >= 0)
        {
            _cookies[index] = (_cookies[index].Name, value.ToArray());
        }
        else
        {
            _cookies.Add((name.ToArray(), value.ToArray()));
        }
    }

    /// <summary>The Cookie header's value (a signed-in browser's, for a plan's requests).</summary>
    public override string ToString() => string.Join("; ", _cookies.Select(c => Encoding.ASCII.GetString(c.Name) + "=" + Encoding.ASCII.GetString(c.Value)));

    /// <summary>The Cookie header's value: name=value pairs joined by "; ".</summary>
    public void WriteTo(Http1Connection connection)
    {
        for (var i = 0; i < _cookies.Count; i++)
        {
            if (i > 0)
            {
                connection.Append("; "u8);
            }

            connection.Append(_cookies[i].Name);
            connection.Append("="u8);
            connection.Append(_cookies[i].Value);
        }
    }
}
