using System.Text.Json;

namespace IdentityHub.Benchmarks;

/// <summary>What each scenario sends (its load plan, with the tokens it needs), and the protocol checks made after it.</summary>
public sealed partial class BenchmarkRunner
{
    private async Task<LoadPlan> PlanAsync(string name, string baseUrl, Seed seed)
    {
        var plan = new LoadPlan
        {
            BaseUrl = baseUrl,
            Concurrency = _options.Concurrency,
            WarmupSeconds = _options.WarmupSeconds,
            DurationSeconds = _options.DurationSeconds,
        };
        using var http = OidcFlows.CreateClient(baseUrl, 8);
        using var connection = new Http1Connection(baseUrl);
        switch (name)
        {
            case Scenarios.Discovery:
                plan.Path = "/.well-known/openid-configuration";
                break;
            case Scenarios.Jwks:
                plan.Path = "/.well-known/jwks";
                break;
            case Scenarios.ClientCredentialsRs256 or Scenarios.ClientCredentialsEs256:
                plan.Method = "POST";
                plan.Path = "/connect/token";
                plan.Body = "grant_type=client_credentials";
                plan.Headers["Authorization"] = OidcFlows.Basic(seed.ServiceClient.ClientId, seed.ServiceClient.ClientSecret).ToString();
                var sample = OidcFlows.Token(connection, seed.ServiceClient, null, ("grant_type", "client_credentials"));
                var alg = Alg(sample.AccessToken);
                var expected = name == Scenarios.ClientCredentialsEs256 ? "ES256" : "RS256";
                if (alg != expected)
                {
                    throw new InvalidOperationException($"The server signs access tokens with {alg}, not {expected}.");
                }

                break;
            case Scenarios.UserInfo:
            {
                var tokens = OidcFlows.SignIn(connection, seed.WebClient, seed.Users[0], seed.Password);
                plan.Path = "/connect/userinfo";
                plan.Headers["Authorization"] = "Bearer " + tokens.AccessToken;
                break;
            }

            case Scenarios.Introspection:
            {
                var tokens = OidcFlows.SignIn(connection, seed.WebClient, seed.Users[0], seed.Password);
                plan.Method = "POST";
                plan.Path = "/connect/introspect";
                plan.Body = OidcFlows.Query(("token", tokens.AccessToken), ("token_type_hint", "access_token"));
                plan.Headers["Authorization"] = OidcFlows.Basic(seed.WebClient.ClientId, seed.WebClient.ClientSecret).ToString();
                using var request = new HttpRequestMessage(HttpMethod.Post, plan.Path)
                {
                    Content = new StringContent(plan.Body, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
                };
                request.Headers.TryAddWithoutValidation("Authorization", plan.Headers["Authorization"]);
                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode || !JsonDocument.Parse(body).RootElement.GetProperty("active").GetBoolean())
                {
                    throw new InvalidOperationException("Introspection does not answer active=true for a fresh access token: " + body);
                }

                break;
            }

            case var refresh when Scenarios.IsRefresh(refresh):
            {
                // One refresh token per worker, each from a whole sign-in of its own (its own grant).
                plan.Kind = "refresh";
                var client = plan.Client = RefreshClient(name, seed);
                var tokens = new string[_options.Concurrency];
                await Task.Run(() => Parallel.For(0, tokens.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 },
                    () => new Http1Connection(baseUrl),
                    (i, _, lane) =>
                    {
                        var set = OidcFlows.SignIn(lane, client, seed.Users[i % seed.Users.Count], seed.Password);
                        tokens[i] = set.RefreshToken ?? throw new InvalidOperationException("The sign-in gave no refresh token (offline_access).");
                        return lane;
                    },
                    lane => lane.Dispose()));

                // What the scenario claims: one refresh of the first token, its access token's algorithm checked, and its ID
                // token's: there for a client registered with idTokenOnRefresh, absent for the default (refresh).
                var first = OidcFlows.Refresh(connection, client, tokens[0]);
                var wanted = name == Scenarios.RefreshEs256 ? "ES256" : "RS256";
                var idToken = name == Scenarios.Refresh
                    ? first.IdToken is null ? null : throw new InvalidOperationException("The refresh of a default client gave an ID token.")
                    : first.IdToken ?? throw new InvalidOperationException("The refresh gave no ID token to a client registered with idTokenOnRefresh.");
                foreach (var (kind, jwt) in new[] { ("access", first.AccessToken), ("ID", idToken) })
                {
                    if (jwt is null)
                    {
                        continue;
                    }

                    if (Alg(jwt) != wanted)
                    {
                        throw new InvalidOperationException($"The refresh's {kind} token is signed with {Alg(jwt)}, not {wanted}.");
                    }
                }

                tokens[0] = first.RefreshToken ?? throw new InvalidOperationException("The refresh gave no new refresh token.");
                plan.RefreshTokens = [.. tokens];
                break;
            }

            case Scenarios.SignIn:
                plan.Kind = "signin";
                plan.Client = seed.WebClient;
                plan.Users = [.. seed.Users];
                plan.Password = seed.Password;
                break;
            default:
                throw new InvalidOperationException("Unknown scenario " + name);
        }

        return plan;
    }

    /// <summary>
    /// After a scenario, checks that the server still answers as the protocol requires where the load
    /// could hide a regression: a refresh token redeemed once is refused the second time (rotation with
    /// reuse detection), and a revoked access token is inactive at introspection.
    /// </summary>
    private static async Task PostCheckAsync(string name, LoadPlan plan, string baseUrl, Seed seed)
    {
        using var http = OidcFlows.CreateClient(baseUrl, 2);
        switch (name)
        {
            case var refresh when Scenarios.IsRefresh(refresh):
                try
                {
                    using (var connection = new Http1Connection(baseUrl))
                    {
                        OidcFlows.Refresh(connection, RefreshClient(name, seed), plan.RefreshTokens[0]);
                    }

                    throw new InvalidOperationException("A refresh token redeemed before was accepted again (no rotation).");
                }
                catch (FlowException e) when (e.Message.Contains("400", StringComparison.Ordinal) && e.Message.Contains("invalid_grant", StringComparison.Ordinal))
                {
                }

                break;

            case Scenarios.Introspection:
                var token = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(plan.Body!)["token"].ToString();
                using (var revoke = new HttpRequestMessage(HttpMethod.Post, "/connect/revoke")
                       {
                           Content = new FormUrlEncodedContent([KeyValuePair.Create("token", token), KeyValuePair.Create("token_type_hint", "access_token")]),
                       })
                {
                    revoke.Headers.Authorization = OidcFlows.Basic(seed.WebClient.ClientId, seed.WebClient.ClientSecret);
                    using var revoked = await http.SendAsync(revoke);
                    if (!revoked.IsSuccessStatusCode)
                    {
                        throw new InvalidOperationException($"Revocation of the introspected access token answered {(int)revoked.StatusCode}.");
                    }
                }

                using (var introspect = new HttpRequestMessage(HttpMethod.Post, "/connect/introspect")
                       {
                           Content = new StringContent(plan.Body!, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
                       })
                {
                    introspect.Headers.Authorization = OidcFlows.Basic(seed.WebClient.ClientId, seed.WebClient.ClientSecret);
                    using var answer = await http.SendAsync(introspect);
                    var body = await answer.Content.ReadAsStringAsync();
                    if (!answer.IsSuccessStatusCode || JsonDocument.Parse(body).RootElement.GetProperty("active").GetBoolean())
                    {
                        throw new InvalidOperationException("A revoked access token is still active at introspection: " + body);
                    }
                }

                break;
        }
    }

    /// <summary>The refresh scenarios' client: the default (RS256 tokens) or the one registered for ES256 tokens.</summary>
    private static ClientInfo RefreshClient(string name, Seed seed) => name switch
    {
        Scenarios.RefreshEs256 => seed.WebClientEs256,
        Scenarios.RefreshIdToken => seed.WebClientIdToken,
        _ => seed.WebClient,
    };

    /// <summary>The alg of a JWS's protected header.</summary>
    private static string? Alg(string jwt) =>
        JsonDocument.Parse(Convert.FromBase64String(Pad(jwt.Split('.')[0]))).RootElement.GetProperty("alg").GetString();

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }
}
