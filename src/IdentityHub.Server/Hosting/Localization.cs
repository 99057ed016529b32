using System.Globalization;
using Microsoft.AspNetCore.Localization;

namespace IdentityHub.Server.Hosting;

/// <summary>
/// Simplified Chinese by default, English on request: ?culture=en, the language cookie, the OIDC
/// ui_locales parameter (OIDC Core section 3.1.2.1) of the authorize request, or Accept-Language.
/// </summary>
public static class Localization
{
    public static readonly CultureInfo[] Supported = [new("zh-CN"), new("en")];

    public static RequestLocalizationOptions Options()
    {
        var options = new RequestLocalizationOptions
        {
            DefaultRequestCulture = new RequestCulture("zh-CN"),
            SupportedCultures = Supported,
            SupportedUICultures = Supported,
            FallBackToParentCultures = true,
            FallBackToParentUICultures = true,
        };
        options.RequestCultureProviders =
        [
            new QueryStringRequestCultureProvider(),
            new CookieRequestCultureProvider(),
            new UiLocalesRequestCultureProvider(),
            new AcceptLanguageHeaderRequestCultureProvider(),
        ];
        return options;
    }

    /// <summary>Reads ui_locales from the authorize request itself or from the ReturnUrl that carries it to the sign-in page.</summary>
    private sealed class UiLocalesRequestCultureProvider : RequestCultureProvider
    {
        public override Task<ProviderCultureResult?> DetermineProviderCultureResult(HttpContext httpContext)
        {
            var query = httpContext.Request.Query;
            string? locales = query["ui_locales"];
            if (locales is null && query["ReturnUrl"].ToString() is { Length: > 0 } returnUrl)
            {
                var questionMark = returnUrl.IndexOf('?', StringComparison.Ordinal);
                if (questionMark >= 0)
                {
                    locales = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(returnUrl[questionMark..])
                        .TryGetValue("ui_locales", out var fromReturnUrl) ? fromReturnUrl.ToString() : null;
                }
            }

            if (string.IsNullOrWhiteSpace(locales))
            {
                return NullProviderCultureResult;
            }

            var cultures = locales.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(l => new Microsoft.Extensions.Primitives.StringSegment(l)).ToList();
            return Task.FromResult<ProviderCultureResult?>(new ProviderCultureResult(cultures, cultures));
        }
    }
}

public static class CultureSwitch
{
    /// <summary>GET /culture?culture=en&amp;returnUrl=/x: remembers the language in a cookie for a year.</summary>
    public static IEndpointRouteBuilder MapCultureSwitch(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/culture", (HttpContext context, string? culture, string? returnUrl) =>
        {
            var chosen = Localization.Supported.FirstOrDefault(c => c.Name == culture) ?? Localization.Supported[0];
            context.Response.Cookies.Append(
                CookieRequestCultureProvider.DefaultCookieName,
                CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(chosen)),
                new CookieOptions { Expires = DateTimeOffset.UtcNow.AddYears(1), IsEssential = true, SameSite = SameSiteMode.Lax, HttpOnly = true });
            // Only local return URLs: an open redirect would help phishing (RFC 9700 section 4.11).
            var local = returnUrl is { Length: > 0 } && returnUrl[0] == '/' && !returnUrl.StartsWith("//", StringComparison.Ordinal)
                && !returnUrl.StartsWith("/\\", StringComparison.Ordinal);
            return Results.Redirect(local ? returnUrl! : "/");
        }).ExcludeFromDescription();
        return routes;
    }
}
