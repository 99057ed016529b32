using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityHub.Samples.DemoPortal.Pages;

/// <summary>One claim as shown on the page: its name, its value, and a readable time for NumericDate claims.</summary>
public sealed record ClaimRow(string Type, string Value, string? Note);

/// <summary>The signed-in person (requires authentication: see the AuthorizePage convention).</summary>
public sealed class ProfileModel : PageModel
{
    private static readonly HashSet<string> TimeClaims = new(StringComparer.Ordinal) { "exp", "iat", "nbf", "auth_time" };

    public string? Name { get; private set; }

    public IReadOnlyList<ClaimRow> IdTokenClaims { get; private set; } = [];

    public IReadOnlyList<ClaimRow> UserInfoClaims { get; private set; } = [];

    public async Task OnGetAsync()
    {
        Name = User.Identity?.Name;
        var session = await HttpContext.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        // SaveTokens = true keeps the tokens in the session cookie's properties.
        if (session.Properties?.GetTokenValue("id_token") is { } idToken)
        {
            IdTokenClaims = ReadJwtPayload(idToken);
        }

        if (session.Properties?.Items.TryGetValue(DemoPortalApp.UserInfoItem, out var userInfo) == true && userInfo is not null)
        {
            using var document = JsonDocument.Parse(userInfo);
            UserInfoClaims = ToRows(document.RootElement);
        }
    }

    /// <summary>
    /// Signs out here and at IdentityHub: the OpenID Connect handler redirects to IdentityHub's
    /// end_session_endpoint with id_token_hint, which comes back to /signout-callback-oidc and then to "/".
    /// </summary>
    public IActionResult OnPostSignOut() =>
        SignOut(new AuthenticationProperties { RedirectUri = "/" },
            CookieAuthenticationDefaults.AuthenticationScheme, OpenIdConnectDefaults.AuthenticationScheme);

    /// <summary>
    /// Decodes (does not validate) the payload of the ID token. The OpenID Connect handler validated
    /// its signature, issuer, audience, lifetime and nonce when the person signed in.
    /// </summary>
    private static List<ClaimRow> ReadJwtPayload(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return [];
        }

        using var document = JsonDocument.Parse(Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(parts[1])));
        return ToRows(document.RootElement);
    }

    private static List<ClaimRow> ToRows(JsonElement payload)
    {
        var rows = new List<ClaimRow>();
        foreach (var property in payload.EnumerateObject())
        {
            var value = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() ?? "" : property.Value.GetRawText();
            string? note = null;
            if (TimeClaims.Contains(property.Name) && property.Value.TryGetInt64(out var seconds))
            {
                note = DateTimeOffset.FromUnixTimeSeconds(seconds).ToOffset(TimeSpan.FromHours(8))
                    .ToString("yyyy-MM-dd HH:mm:ss '(UTC+8)'", CultureInfo.InvariantCulture);
            }

            rows.Add(new ClaimRow(property.Name, value, note));
        }

        return rows;
    }
}
