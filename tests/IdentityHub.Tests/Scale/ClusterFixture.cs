using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Hosting;
using IdentityHub.Tests.Infrastructure;
using Npgsql;

namespace IdentityHub.Tests.Scale;

/// <summary>
/// Two IdentityHub server processes (node-a, node-b) in shared mode on one PostgreSQL database and one Redis, both of
/// the fixture's own so that tests may kill and restart them. Each node has its own data directory: nothing is shared
/// through the file system, only through the database and Redis. Signing keys come from the database and rotate every
/// <see cref="RotationInterval"/>.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string Issuer = "https://id.scale.test/";
    public const string AdminClientId = "scale-admin";
    public const int MaxFailedAccessAttempts = 4;
    public const int FailuresPerAccountWindow = 6;
    public static readonly TimeSpan RotationInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan PublishAhead = TimeSpan.FromSeconds(8);
    public static readonly TimeSpan RedisGrace = TimeSpan.FromSeconds(1);

    /// <summary>Far longer than any test waits: a change reaches the other node through the signal or the generation check, never by expiry.</summary>
    public static readonly TimeSpan ClientCacheLifetime = TimeSpan.FromMinutes(10);

    private readonly List<string> _directories = [];

    public ThrowawayPostgres Postgres { get; private set; } = null!;

    public ThrowawayRedis Redis { get; private set; } = null!;

    public ClusterNode A { get; private set; } = null!;

    public ClusterNode B { get; private set; } = null!;

    public string AdminSecret { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string DatabaseConnectionString => Postgres.ConnectionString("identityhub");

    /// <summary>For the test's own queries: unpooled, so that a PostgreSQL restart leaves no dead pooled connection behind.</summary>
    public string DirectConnectionString => DatabaseConnectionString + ";Pooling=false";

    public async Task InitializeAsync()
    {
        Postgres = await ThrowawayPostgres.StartAsync();
        Redis = await ThrowawayRedis.StartAsync();
        await using (var connection = new NpgsqlConnection(Postgres.ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE DATABASE identityhub", connection);
            await create.ExecuteNonQueryAsync();
        }

        // One after the other: the first applies the migrations and creates the bootstrap client and the first key.
        A = await StartNodeAsync("node-a");
        B = await StartNodeAsync("node-b");
    }

    public Dictionary<string, string> Environment(string nodeId)
    {
        var directory = Directory.CreateTempSubdirectory("identityhub-scale-" + nodeId + "-").FullName;
        _directories.Add(directory);
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Database__Provider"] = "Postgres",
            ["Database__DataDirectory"] = directory,
            ["ConnectionStrings__IdentityHub"] = DatabaseConnectionString,
            ["Oidc__DevelopmentCertificateDirectory"] = Path.Combine(RepositoryRoot(), "certs-dev"),
            ["Oidc__Issuer"] = Issuer,
            ["Oidc__SigningKeys"] = "Database",
            ["Oidc__KeyRotation__Interval"] = RotationInterval.ToString(),
            ["Oidc__KeyRotation__PublishAhead"] = PublishAhead.ToString(),
            ["Oidc__KeyRotation__RefreshInterval"] = "00:00:02",
            ["Oidc__KeyRotation__CheckInterval"] = "00:00:02",
            // Only the signal can bring an access token revocation from one node to the other within a test.
            ["Oidc__RevocationRefreshInterval"] = "01:00:00",
            ["Redis__Configuration"] = Redis.Configuration,
            ["Redis__OperationTimeout"] = RedisGrace.ToString(),
            ["Redis__ReconnectInterval"] = "00:00:00.500",
            ["Registry__ClientCacheLifetime"] = ClientCacheLifetime.ToString(),
            // Far beyond every deadline of the tests: only the "persons" signal or the generation check can make them pass.
            ["PersonCache__Lifetime"] = ClientCacheLifetime.ToString(),
            ["Audit__NodeId"] = nodeId,
            ["Audit__CheckpointInterval"] = "00:00:05",
            ["Accounts__MaxFailedAccessAttempts"] = MaxFailedAccessAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RateLimits__SignInPerAccount__PermitLimit"] = FailuresPerAccountWindow.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RateLimits__SignInPerAccount__Window"] = "00:05:00",
            ["Bootstrap__AdminClient__ClientId"] = AdminClientId,
            ["Bootstrap__AdminClient__ClientSecret"] = AdminSecret,
            ["DemoData__Enabled"] = "false",
            ["Registry__DepartmentsFile"] = "",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            ["Logging__LogLevel__IdentityHub.Server.Scale"] = "Information",
        };
        return environment;
    }

    private async Task<ClusterNode> StartNodeAsync(string nodeId)
    {
        var url = "http://127.0.0.1:" + TestPorts.Free();
        var environment = Environment(nodeId);
        environment["ASPNETCORE_URLS"] = url;
        var process = ServerProcess.Start(environment);
        await process.WaitForOutputLineAsync(line => line.Contains("Now listening on: " + url, StringComparison.Ordinal));
        return new ClusterNode(nodeId, new Uri(url + "/"), process, this);
    }

    public async Task DisposeAsync()
    {
        // A debugging aid: IDENTITYHUB_TEST_NODE_LOGS=<directory> keeps both nodes' output.
        if (System.Environment.GetEnvironmentVariable("IDENTITYHUB_TEST_NODE_LOGS") is { Length: > 0 } logs)
        {
            foreach (var node in new[] { A, B }.Where(n => n is not null))
            {
                await File.WriteAllTextAsync(Path.Combine(logs, node.Id + ".log"), node.Process.StandardOutput + node.Process.StandardError);
            }
        }

        if (A is not null)
        {
            await A.Process.DisposeAsync();
        }

        if (B is not null)
        {
            await B.Process.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }

        foreach (var directory in _directories)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IdentityHub.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("IdentityHub.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>One server process of the cluster, spoken to over HTTP only.</summary>
public sealed class ClusterNode(string id, Uri baseAddress, ServerProcess process, ClusterFixture cluster)
{
    public string Id { get; } = id;

    public Uri BaseAddress { get; } = baseAddress;

    public ServerProcess Process { get; } = process;

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    /// <summary>An HttpClient to this node, without redirects; with <paramref name="cookies"/> the browser's jar (shared across nodes: one host name behind a load balancer).</summary>
    public HttpClient Client(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer() })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    public async Task<TokenResponse> ClientCredentialsAsync(string clientId, string secret, string? scope = null)
    {
        using var http = Client();
        return await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = Url("connect/token"),
            ClientId = clientId,
            ClientSecret = secret,
            Scope = scope,
        });
    }

    public async Task<HttpClient> AdminAsync()
    {
        var token = await ClientCredentialsAsync(ClusterFixture.AdminClientId, cluster.AdminSecret, "identityhub.admin");
        Assert.False(token.IsError, token.Error + " " + token.ErrorDescription);
        var http = Client();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        return http;
    }

    public async Task<JsonElement> JsonAsync(string path)
    {
        using var http = Client();
        using var response = await http.GetAsync(path);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Posts the admin API and returns the JSON answer (asserting the status).</summary>
    public async Task<JsonElement> AdminPostAsync(string path, object? body, HttpStatusCode expected)
    {
        using var admin = await AdminAsync();
        using var response = body is null ? await admin.PostAsync(path, null) : await admin.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}
