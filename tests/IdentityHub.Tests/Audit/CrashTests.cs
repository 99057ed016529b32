using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Duende.IdentityModel.Client;
using IdentityHub.Tests.Hosting;
using IdentityHub.Tests.Infrastructure;

namespace IdentityHub.Tests.Audit;

/// <summary>
/// The server runs as its own process (dotnet IdentityHub.Server.dll) and is killed with SIGKILL while sign-ins are
/// under way: every sign-in that got an answer has its event, the chain verifies, and a restarted server goes on
/// with its chain.
/// </summary>
public sealed class CrashTests
{
    private const string Password = "Crash-Passw0rd";
    private const int Answers = 24;

    [Theory]
    [InlineData("Postgres")]
    [InlineData("Sqlite")]
    public async Task SignIns_ServerKilledMidway_EveryAnsweredOneRecordedAndChainVerifies(string provider)
    {
        await using var database = await TestDatabase.CreateAsync(provider);
        var db = new AuditDatabase(database);
        var environment = AuditDatabase.ProcessEnvironment(database);
        var baseUrl = "http://127.0.0.1:" + FreePort();
        environment["ASPNETCORE_URLS"] = baseUrl;
        environment["Audit__NodeId"] = "crash-node";
        environment["Audit__CheckpointInterval"] = "00:00:00";

        var answered = new ConcurrentBag<string>();
        await using (var server = await StartAsync(environment, baseUrl))
        {
            var userName = await CreateCitizenAsync(baseUrl);
            var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; ; i++)
                {
                    var correlation = $"crash-{worker}-{i}";
                    try
                    {
                        // Half succeed, half fail for an unknown account (which does not lock anyone out).
                        await SignInAsync(baseUrl, i % 2 == 0 ? userName : "nobody-" + correlation, correlation);
                    }
                    catch (HttpRequestException)
                    {
                        return; // The server is gone: this attempt got no answer.
                    }

                    answered.Add(correlation);
                    if (answered.Count >= Answers)
                    {
                        enough.TrySetResult();
                    }
                }
            })).ToList();

            await Task.WhenAny(enough.Task, Task.WhenAll(workers));
            server.Kill();
            await Task.WhenAll(workers);
        }

        var recorded = (await db.QueryAsync("SELECT \"CorrelationId\" FROM \"AuditEvents\" WHERE \"CorrelationId\" LIKE 'crash-%'", r => r.GetString(0)))
            .ToHashSet();
        Assert.True(answered.Count >= Answers, $"Only {answered.Count} sign-ins were answered before the server died by itself.");
        Assert.Subset(recorded, answered.ToHashSet());
        var (exitCode, output) = await db.RunCommandAsync("verify-audit");
        Assert.True(exitCode == 0, output);

        // The restarted server appends to the same chain; it still verifies.
        await using (await StartAsync(environment, baseUrl))
        {
            await SignInAsync(baseUrl, "nobody-after-restart", "crash-after-restart");
        }

        (exitCode, output) = await db.RunCommandAsync("verify-audit");
        Assert.True(exitCode == 0, output);
        Assert.Single(await db.QueryAsync("SELECT \"Id\" FROM \"AuditEvents\" WHERE \"CorrelationId\" = 'crash-after-restart'", r => r.GetInt64(0)));
    }

    private static async Task<ServerProcess> StartAsync(Dictionary<string, string> environment, string baseUrl)
    {
        var server = ServerProcess.Start(environment);
        await server.WaitForOutputLineAsync(line => line.Contains("Now listening on: " + baseUrl, StringComparison.Ordinal));
        return server;
    }

    /// <summary>A citizen created through the admin API with the development bootstrap client.</summary>
    private static async Task<string> CreateCitizenAsync(string baseUrl)
    {
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        var token = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = baseUrl + "/connect/token", ClientId = "identityhub-admin", ClientSecret = "identityhub-admin-secret-for-development-only",
            Scope = "identityhub.admin",
        });
        Assert.False(token.IsError, token.Error);
        http.SetBearerToken(token.AccessToken!);
        var userName = "crash_" + Guid.NewGuid().ToString("N")[..8];
        using var response = await http.PostAsJsonAsync("/api/admin/users", new { userName, password = Password });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return userName;
    }

    /// <summary>The sign-in page as a browser uses it; the POST carries the correlation id its event records.</summary>
    private static async Task SignInAsync(string baseUrl, string userName, string correlation)
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl) };
        var html = await http.GetStringAsync("/Account/Login");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/Account/Login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.SignInName"] = userName,
                ["Input.Password"] = Password,
                ["__RequestVerificationToken"] = BrowserlessSignIn.AntiforgeryToken(html),
            }),
        };
        request.Headers.Add("X-Correlation-Id", correlation);
        using var response = await http.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.OK, $"{correlation}: {(int)response.StatusCode}");
    }

    private static int FreePort() => TestPorts.Free();
}
