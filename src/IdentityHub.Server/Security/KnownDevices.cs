using System.Security.Cryptography;
using System.Text;
using IdentityHub.Server.Data;
using IdentityHub.Server.Factors;
using IdentityHub.Server.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityHub.Server.Security;

/// <summary>
/// Recognises the browsers an account signs in from by a random, long-lived device cookie (only its
/// SHA-256 is stored). A sign-in from a browser the account has not used before raises a "new device"
/// message, except for the account's very first sign-in.
/// </summary>
public sealed class KnownDevices(IdentityHubDbContext db, TimeProvider clock)
{
    public const string CookieName = "ih.device";

    /// <summary>Remembers this browser for the account; true when it is new and the account had signed in elsewhere before.</summary>
    public async Task<bool> RememberAsync(HttpContext context, ApplicationUser user, CancellationToken cancellationToken)
    {
        var deviceId = context.Request.Cookies[CookieName];
        var issuedNow = false;
        if (deviceId is not { Length: 32 })
        {
            issuedNow = true;
            deviceId = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
            context.Response.Cookies.Append(CookieName, deviceId, new CookieOptions
            {
                HttpOnly = true,
                IsEssential = true,
                SameSite = SameSiteMode.Lax,
                Secure = context.Request.IsHttps,
                MaxAge = TimeSpan.FromDays(400),
            });
        }

        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(deviceId)));
        var now = clock.GetUtcNow().UtcDateTime;
        var devices = db.Set<KnownDevice>();
        // A device id issued just now (128 random bits) cannot be known yet: no update to try, straight to the insert.
        if (!issuedNow)
        {
            var updated = await devices.Where(d => d.UserId == user.Id && d.DeviceHash == hash)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.LastSeenUtc, now), cancellationToken);
            if (updated > 0)
            {
                return false;
            }
        }

        var hadOthers = await devices.AnyAsync(d => d.UserId == user.Id, cancellationToken);
        var device = devices.Add(new KnownDevice { UserId = user.Id, DeviceHash = hash, FirstSeenUtc = now, LastSeenUtc = now });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The same browser signed in twice at once: it is known now.
            device.State = EntityState.Detached;
            return false;
        }

        return hadOthers;
    }

    /// <summary>A short description of the browser for the message: its user agent, cut to 120 characters.</summary>
    public static string Describe(HttpContext context)
    {
        var agent = context.Request.Headers.UserAgent.ToString();
        return agent.Length > 120 ? agent[..120] : agent;
    }
}
