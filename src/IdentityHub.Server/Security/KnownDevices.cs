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
public sealed class KnownDevices(IdentityHubDbContext db, AccountLookup lookup, TimeProvider clock)
{
    public const string CookieName = "ih.device";

    /// <summary>
    /// The first half of remembering this browser, before the sign-in's session row is written. A browser without a
    /// device cookie gets a new device id (128 random bits: it cannot be known yet) and its row is added to the unit
    /// of work without being saved, so that it is inserted in the same transaction as the session row and the
    /// sign-in's audit events (docs/benchmarks.md, the signin scenario). Whether the account had signed in elsewhere
    /// before is read now, before that insert.
    /// </summary>
    public async Task<DeviceSighting> SightAsync(HttpContext context, ApplicationUser user, CancellationToken cancellationToken)
    {
        var deviceId = context.Request.Cookies[CookieName];
        if (deviceId is { Length: 32 })
        {
            return new DeviceSighting(Hash(deviceId), AddedWithSignIn: false, HadOthers: false);
        }

        deviceId = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        context.Response.Cookies.Append(CookieName, deviceId, new CookieOptions
        {
            HttpOnly = true,
            IsEssential = true,
            SameSite = SameSiteMode.Lax,
            Secure = context.Request.IsHttps,
            MaxAge = TimeSpan.FromDays(400),
        });
        var hash = Hash(deviceId);
        // Whether the account had signed in elsewhere is read now, just before the insert, unless the password sign-in
        // already saw a known device with the account (AccountLookup.FindForPasswordSignInAsync): no known-device row is
        // deleted while the account exists, so that "yes" cannot have become "no" during the hash, while a "no" read
        // before the hash (which can queue for seconds) could be stale; two first sign-ins at once from new browsers
        // race only between this read and the commit, as without the read-ahead. Only an account's first sign-ins pay this
        // round trip.
        var hadOthers = lookup.HadKnownDevices(user.Id) || await db.Set<KnownDevice>().AnyAsync(d => d.UserId == user.Id, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        db.Set<KnownDevice>().Add(new KnownDevice { UserId = user.Id, DeviceHash = hash, FirstSeenUtc = now, LastSeenUtc = now });
        return new DeviceSighting(hash, AddedWithSignIn: true, HadOthers: hadOthers);
    }

    /// <summary>
    /// The second half, after the sign-in is saved: true when the browser is new to the account and the account had
    /// signed in elsewhere before (a "new device" message). A browser that brought its device cookie is looked up now.
    /// </summary>
    public async Task<bool> RememberAsync(DeviceSighting sighting, ApplicationUser user, CancellationToken cancellationToken)
    {
        if (sighting.AddedWithSignIn)
        {
            return sighting.HadOthers;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var devices = db.Set<KnownDevice>();
        var updated = await devices.Where(d => d.UserId == user.Id && d.DeviceHash == sighting.DeviceHash)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LastSeenUtc, now), cancellationToken);
        if (updated > 0)
        {
            return false;
        }

        var hadOthers = await devices.AnyAsync(d => d.UserId == user.Id, cancellationToken);
        var device = devices.Add(new KnownDevice { UserId = user.Id, DeviceHash = sighting.DeviceHash, FirstSeenUtc = now, LastSeenUtc = now });
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

    private static string Hash(string deviceId) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(deviceId)));

    /// <summary>A short description of the browser for the message: its user agent, cut to 120 characters.</summary>
    public static string Describe(HttpContext context)
    {
        var agent = context.Request.Headers.UserAgent.ToString();
        return agent.Length > 120 ? agent[..120] : agent;
    }
}

/// <summary>This browser at a sign-in: its device hash, and whether its row goes in with the sign-in (a new device id).</summary>
public sealed record DeviceSighting(string DeviceHash, bool AddedWithSignIn, bool HadOthers);
