namespace IdentityHub.Server.Hosting;

/// <summary>A configuration the server refuses to start with; Program prints the message and exits with 1.</summary>
public sealed class StartupConfigurationException(string message) : Exception(message);

/// <summary>
/// Outside Development the server serves HTTPS only (OAuth 2.0 requires TLS, RFC 6749 section 3.1 and
/// 10.9) and signs with configured certificates. This check lists everything missing in one message.
/// </summary>
public static class SecureHostingCheck
{
    public static WebApplicationBuilder RequireSecureHostingOutsideDevelopment(this WebApplicationBuilder builder)
    {
        if (builder.Environment.IsDevelopment())
        {
            return builder;
        }

        var config = builder.Configuration;
        var missing = new List<string>();

        if (!Uri.TryCreate(config["Oidc:Issuer"], UriKind.Absolute, out var issuer) || issuer.Scheme != Uri.UriSchemeHttps)
        {
            missing.Add("Oidc:Issuer must be the public https URL of the server (for example https://id.city.gov.cn/).");
        }

        var behindProxy = config.GetValue<bool>("Hosting:BehindTlsProxy");
        if (!behindProxy)
        {
            var urls = (config["urls"] ?? config["ASPNETCORE_URLS"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries);
            var endpoints = config.GetSection("Kestrel:Endpoints").GetChildren().ToList();
            var anyHttps = urls.Any(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                || endpoints.Any(e => (e["Url"] ?? "").StartsWith("https://", StringComparison.OrdinalIgnoreCase));
            var anyHttp = urls.Any(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
                || endpoints.Any(e => (e["Url"] ?? "").StartsWith("http://", StringComparison.OrdinalIgnoreCase));
            var certificate = !string.IsNullOrEmpty(config["Kestrel:Certificates:Default:Path"])
                || endpoints.Any(e => !string.IsNullOrEmpty(e["Certificate:Path"]));

            if (!anyHttps)
            {
                missing.Add("An https endpoint: set ASPNETCORE_URLS=https://+:443 or Kestrel:Endpoints:Https:Url " +
                            "(or Hosting:BehindTlsProxy=true when a reverse proxy terminates TLS).");
            }

            if (anyHttp)
            {
                missing.Add("Plain http endpoints are not allowed outside Development: remove them from ASPNETCORE_URLS / Kestrel:Endpoints.");
            }

            if (!certificate)
            {
                missing.Add("The TLS certificate: Kestrel:Certificates:Default:Path and Kestrel:Certificates:Default:Password.");
            }
        }

        if (string.IsNullOrEmpty(config["Oidc:SigningCertificates:0:Path"]))
        {
            missing.Add("Token signing certificate(s): Oidc:SigningCertificates:0:Path and Oidc:SigningCertificates:0:Password (PKCS#12).");
        }

        if (string.IsNullOrEmpty(config["Oidc:EncryptionCertificates:0:Path"]))
        {
            missing.Add("Token encryption certificate(s): Oidc:EncryptionCertificates:0:Path and Oidc:EncryptionCertificates:0:Password (PKCS#12).");
        }

        if (missing.Count > 0)
        {
            throw new StartupConfigurationException(
                $"IdentityHub refuses to start in the {builder.Environment.EnvironmentName} environment without HTTPS and configured certificates. Missing:"
                + Environment.NewLine + string.Join(Environment.NewLine, missing.Select(m => "  - " + m))
                + Environment.NewLine + "For a local trial, run with ASPNETCORE_ENVIRONMENT=Development (plain http on localhost, development certificates).");
        }

        return builder;
    }
}
