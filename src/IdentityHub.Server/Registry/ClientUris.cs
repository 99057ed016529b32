using IdentityHub.Server.Api;

namespace IdentityHub.Server.Registry;

public static class ClientUris
{
    /// <summary>
    /// Redirect URIs are compared exactly at the authorization endpoint (RFC 9700 section 4.1.3), so
    /// here they must be absolute, without fragment (RFC 6749 section 3.1.2) or wildcard, and https;
    /// plain http only on a loopback host (RFC 8252 section 7.3), and a private-use scheme
    /// (reverse domain name, RFC 8252 section 7.1) only for public native apps.
    /// </summary>
    public static void Validate(string field, IReadOnlyList<string> uris, bool publicClient, FieldErrors errors)
    {
        for (var i = 0; i < uris.Count; i++)
        {
            var value = uris[i];
            var name = uris.Count == 1 && !field.EndsWith('s') ? field : $"{field}[{i}]";
            if (string.IsNullOrWhiteSpace(value) || !Uri.TryCreate(value, UriKind.Absolute, out var uri))
            {
                errors.Add(name, new(RegistryCodes.UriAbsolute));
                continue;
            }

            if (!string.IsNullOrEmpty(uri.Fragment) || value.Contains('#'))
            {
                errors.Add(name, new(RegistryCodes.UriFragment));
            }

            if (value.Contains('*'))
            {
                errors.Add(name, new(RegistryCodes.UriWildcard));
            }

            var ok = uri.Scheme switch
            {
                "https" => true,
                "http" => IsLoopback(uri),
                _ => publicClient && uri.Scheme.Contains('.'),
            };
            if (!ok)
            {
                errors.Add(name, new(RegistryCodes.UriScheme));
            }
        }
    }

    private static bool IsLoopback(Uri uri) =>
        uri.Host is "localhost" || (System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
}
