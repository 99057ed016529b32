using System.Data.Common;
using System.Net;
using System.Web;
using IdentityHub.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityHub.Tests.Oidc;

/// <summary>
/// A failure inside the authorization request answered after a sign-in (Accounts:AnswerAuthorizeAfterSignIn): the sign-in
/// is saved before the replay, so the person stays signed in whatever the replay answers, and going back to the app
/// (the same authorization request again) is answered with a code without the sign-in page.
/// </summary>
public abstract partial class OidcProtocolTests
{
    [Fact]
    public async Task SignInPost_ReplayedAuthorizeFails_ErrorPageKeepsTheSession_RetryAnsweredWithACode()
    {
        var failing = new FailingAuthorizationInsert();
        await using var server = await IdentityHubServer.StartAsync(Provider, services: services => services.AddSingleton<IInterceptor>(failing));
        var kit = new OidcKit(server);
        var client = await kit.RegisterWebClientAsync();
        var user = await kit.CreateUserAsync();
        var pkce = Pkce.Create();
        var url = await kit.AuthorizeUrlAsync(client, pkce, OidcKit.UniqueId("state"), OidcKit.UniqueId("nonce"));
        var cookies = new CookieContainer();

        failing.Armed = true;
        var (post, _) = await PostSignInAsync(server, cookies, url, user, returnUrl: null);
        failing.Armed = false;

        // The replay's save of the authorization threw: the friendly error page, not a stack trace, and no code.
        Assert.True(failing.Thrown > 0, "The replayed authorize reached its save.");
        Assert.Equal(HttpStatusCode.InternalServerError, post.Status);
        Assert.Null(post.Location);
        Assert.DoesNotContain(nameof(FailingAuthorizationInsert), post.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", post.Body, StringComparison.Ordinal);
        // The sign-in's cookies are still in the answer (the error page's re-execution cleared the headers).
        Assert.True(SessionCookieSet(cookies, server), "The sign-in's session cookie is in the error page's answer.");

        // The browser goes back to the app, which sends the same request again: signed in, answered with a code.
        var again = await SendAsync(cookies, url, server);
        Assert.Equal(HttpStatusCode.Redirect, again.Status);
        Assert.Equal(client.RedirectUri, again.Location!.GetLeftPart(UriPartial.Path));
        var callback = HttpUtility.ParseQueryString(again.Location.Query);
        Assert.Null(callback["error"]);
        var tokens = await kit.RedeemCodeAsync(client, callback["code"]!, pkce.Verifier);
        Assert.False(tokens.IsError, $"{tokens.Error} {tokens.ErrorDescription}");
        Assert.Equal(user.Id, OidcKit.JwtPayload(tokens.IdentityToken!).GetProperty("sub").GetString());
    }

    /// <summary>Throws, while armed, on any command that inserts an authorization (the replayed authorize's save).</summary>
    private sealed class FailingAuthorizationInsert : CommandObserver
    {
        private int _thrown;

        public volatile bool Armed;

        public int Thrown => Volatile.Read(ref _thrown);

        protected override void Observe(DbCommand command)
        {
            if (Armed && command.CommandText.Contains("INSERT INTO \"OpenIddictAuthorizations\"", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _thrown);
                throw new InvalidOperationException("Injected by " + nameof(FailingAuthorizationInsert) + ".");
            }
        }
    }
}
