using System.Net;
using System.Net.Sockets;

namespace IdentityHub.Server.Sessions;

/// <summary>Where a session's network address lies, coarsely (no geolocation database).</summary>
public enum NetworkPlace
{
    Unknown,
    ThisComputer,
    InternalNetwork,
    Internet,
}

/// <summary>
/// A readable name for a session's device ("Chrome on Windows") and a coarse place for its IP address, so that a
/// citizen recognises their own sessions. Deliberately simple: a few well-known user-agent tokens, and the
/// address ranges of RFC 1918, RFC 6598, RFC 4193 and link-local.
/// </summary>
public static class DeviceDescription
{
    private static readonly (string Token, string Name)[] Browsers =
    [
        ("MicroMessenger", "WeChat"), ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome (headless)"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"),
    ];

    private static readonly (string Token, string Name)[] Systems =
    [
        ("Windows", "Windows"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"), ("HarmonyOS", "HarmonyOS"),
        ("Mac OS X", "macOS"), ("Linux", "Linux"),
    ];

    public static string Describe(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return "";
        }

        var browser = Browsers.FirstOrDefault(b => userAgent.Contains(b.Token, StringComparison.Ordinal)).Name;
        var system = Systems.FirstOrDefault(s => userAgent.Contains(s.Token, StringComparison.Ordinal)).Name;
        return (browser, system) switch
        {
            (null, null) => userAgent.Length > 60 ? userAgent[..60] + "…" : userAgent,
            (null, _) => system!,
            (_, null) => browser,
            _ => $"{browser} · {system}",
        };
    }

    public static NetworkPlace Place(string? ipAddress)
    {
        if (!IPAddress.TryParse(ipAddress, out var address))
        {
            return NetworkPlace.Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return NetworkPlace.ThisComputer;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var first = address.GetAddressBytes()[0];
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || (first & 0xFE) == 0xFC ? NetworkPlace.InternalNetwork : NetworkPlace.Internet;
        }

        var b = address.GetAddressBytes();
        var internalNetwork = b[0] == 10
            || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 100 && b[1] is >= 64 and <= 127)
            || (b[0] == 169 && b[1] == 254);
        return internalNetwork ? NetworkPlace.InternalNetwork : NetworkPlace.Internet;
    }
}
