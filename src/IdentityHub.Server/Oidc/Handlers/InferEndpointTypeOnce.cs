using System.Collections.Concurrent;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc.Handlers;

/// <summary>
/// Takes the place of OpenIddict's <see cref="OpenIddictServerHandlers.InferEndpointType"/> (same order, same answer): the
/// request URI is compared with every endpoint URI of the options, in OpenIddict's order (authorization, configuration,
/// device authorization, end session, end-user verification, introspection, JWKS, PAR, revocation, token, userinfo), with
/// OpenIddict's comparison (scheme, host and port, path ignoring case and one trailing slash). OpenIddict resolves every
/// relative endpoint URI against the request's base URI again on every request (two to four new <see cref="Uri"/>s per
/// candidate, ten candidates before the token endpoint) and looks up its Information log message in the resource manager
/// whatever the log level; here the resolved candidates are kept per options and base URI (a bounded number of base URIs:
/// in Development the issuer follows the Host header) and the message is written only when Information is enabled.
/// </summary>
public sealed class InferEndpointTypeOnce : IOpenIddictServerHandler<ProcessRequestContext>
{
    /// <summary>Base URIs remembered per options instance (the Host header decides the base URI when no issuer is set).</summary>
    internal const int MaxBaseUris = 32;

    private readonly ConcurrentDictionary<string, Candidate[]> _resolved = new(StringComparer.Ordinal);
    private OpenIddictServerOptions? _options;

    public static OpenIddictServerHandlerDescriptor Descriptor { get; }
        = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .UseSingletonHandler<InferEndpointTypeOnce>()
            .SetOrder(OpenIddictServerHandlers.InferEndpointType.Descriptor.Order)
            .SetType(OpenIddictServerHandlerType.BuiltIn)
            .Build();

    public ValueTask HandleAsync(ProcessRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.BaseUri is not { IsAbsoluteUri: true } baseUri || context.RequestUri is not { IsAbsoluteUri: true } requestUri)
        {
            return ValueTask.CompletedTask;
        }

        var candidates = Resolve(context.Options, baseUri);
        string scheme = requestUri.Scheme, host = requestUri.Host, path = requestUri.AbsolutePath;
        var port = requestUri.Port;
        var type = OpenIddictServerEndpointType.Unknown;
        foreach (var candidate in candidates)
        {
            if (candidate.Matches(scheme, host, port, path))
            {
                type = candidate.Type;
                break;
            }
        }

        context.EndpointType = type;
        if (type != OpenIddictServerEndpointType.Unknown && context.Logger.IsEnabled(LogLevel.Information))
        {
            context.Logger.LogInformation(6053, "The request URI matched a server endpoint: {Endpoint}.", type);
        }

        return ValueTask.CompletedTask;
    }

    private Candidate[] Resolve(OpenIddictServerOptions options, Uri baseUri)
    {
        // The options are replaced as a whole when they change (the signing key ring rebuilds them): start afresh then.
        if (!ReferenceEquals(Volatile.Read(ref _options), options))
        {
            lock (_resolved)
            {
                if (!ReferenceEquals(_options, options))
                {
                    _resolved.Clear();
                    Volatile.Write(ref _options, options);
                }
            }
        }

        var key = baseUri.OriginalString;
        if (_resolved.TryGetValue(key, out var known))
        {
            return known;
        }

        var candidates = Build(options, baseUri);
        if (_resolved.Count < MaxBaseUris && ReferenceEquals(Volatile.Read(ref _options), options))
        {
            _resolved.TryAdd(key, candidates);
        }

        return candidates;
    }

    /// <summary>Every endpoint URI as OpenIddict's Matches sees it for this base URI, in its order.</summary>
    internal static Candidate[] Build(OpenIddictServerOptions options, Uri baseUri)
    {
        var list = new List<Candidate>();
        Add(options.AuthorizationEndpointUris, OpenIddictServerEndpointType.Authorization);
        Add(options.ConfigurationEndpointUris, OpenIddictServerEndpointType.Configuration);
        Add(options.DeviceAuthorizationEndpointUris, OpenIddictServerEndpointType.DeviceAuthorization);
        Add(options.EndSessionEndpointUris, OpenIddictServerEndpointType.EndSession);
        Add(options.EndUserVerificationEndpointUris, OpenIddictServerEndpointType.EndUserVerification);
        Add(options.IntrospectionEndpointUris, OpenIddictServerEndpointType.Introspection);
        Add(options.JsonWebKeySetEndpointUris, OpenIddictServerEndpointType.JsonWebKeySet);
        Add(options.PushedAuthorizationEndpointUris, OpenIddictServerEndpointType.PushedAuthorization);
        Add(options.RevocationEndpointUris, OpenIddictServerEndpointType.Revocation);
        Add(options.TokenEndpointUris, OpenIddictServerEndpointType.Token);
        Add(options.UserInfoEndpointUris, OpenIddictServerEndpointType.UserInfo);
        return [.. list];

        void Add(IReadOnlyList<Uri> uris, OpenIddictServerEndpointType type)
        {
            foreach (var uri in uris)
            {
                if (uri.IsAbsoluteUri)
                {
                    list.Add(new Candidate(uri, type));
                    continue;
                }

                // OpenIddictHelpers.CreateAbsoluteUri, IsImplicitFileUri and IsBaseOf, as InferEndpointType calls them.
                var absolute = new Uri(WithTrailingSlash(baseUri), uri);
                if (!IsImplicitFileUri(absolute) && WithTrailingSlash(baseUri).IsBaseOf(absolute))
                {
                    list.Add(new Candidate(absolute, type));
                }
            }
        }
    }

    private static Uri WithTrailingSlash(Uri uri) => uri.AbsolutePath switch
    {
        { Length: > 0 } path when path[^1] == '/' => uri,
        { Length: > 0 } path => new UriBuilder(uri) { Path = path + "/" }.Uri,
        _ => new UriBuilder(uri) { Path = "/" }.Uri,
    };

    private static bool IsImplicitFileUri(Uri uri) =>
        uri.IsAbsoluteUri && uri.IsFile && !uri.OriginalString.StartsWith(uri.Scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>An endpoint URI, its parts read once.</summary>
    internal sealed class Candidate(Uri uri, OpenIddictServerEndpointType type)
    {
        private readonly string _scheme = uri.Scheme;
        private readonly string _host = uri.Host;
        private readonly int _port = uri.Port;
        private readonly string _path = uri.AbsolutePath;

        public OpenIddictServerEndpointType Type { get; } = type;

        /// <summary>OpenIddict's Equals(candidate, request URI): one trailing slash on either side is ignored.</summary>
        public bool Matches(string scheme, string host, int port, string path)
        {
            if (!string.Equals(_scheme, scheme, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(_host, host, StringComparison.OrdinalIgnoreCase) || _port != port)
            {
                return false;
            }

            if (string.Equals(_path, path, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            return (_path.Length == path.Length + 1 && _path.StartsWith(path, StringComparison.OrdinalIgnoreCase) && _path[^1] == '/')
                   || (path.Length == _path.Length + 1 && path.StartsWith(_path, StringComparison.OrdinalIgnoreCase) && path[^1] == '/');
        }
    }
}
