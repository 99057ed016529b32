using System.Runtime.InteropServices;

namespace IdentityHub.Server.Hosting;

/// <summary>
/// Caps glibc's malloc arenas before the host starts its threads, and gives start-up memory back once the host has
/// started (<see cref="ReturnStartupMemory"/>). glibc gives every thread that allocates natively
/// while another holds the lock an arena of its own (up to 8 per core), each a 64 MB reservation whose touched pages
/// stay resident: OpenSSL's contexts for every password hash and signature, the JIT on its background threads.
/// Under the benchmark's sign-in and refresh load the server had about 20 of them. Two arenas keep the contention low
/// on a small node and the resident memory lower (docs/deployment.md, "Memory"). The same as MALLOC_ARENA_MAX=2, without
/// an environment variable: `dotnet IdentityHub.Server.dll` gets it. An operator's MALLOC_ARENA_MAX or GLIBC_TUNABLES
/// wins. Nothing happens outside Linux, or on a C library without <c>mallopt</c> (musl ignores the parameter).
/// </summary>
public static class NativeHeap
{
    /// <summary>mallopt's M_ARENA_MAX (malloc.h).</summary>
    private const int ArenaMaxParameter = -8;

    public const int ArenaMax = 2;

    public static void CapMallocArenas()
    {
        if (!OperatingSystem.IsLinux()
            || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null
            || Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is not null)
        {
            return;
        }

        try
        {
            _ = MallOpt(ArenaMaxParameter, ArenaMax);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: its allocator has no arenas to cap.
        }
    }

    /// <summary>
    /// Once the host has started (<c>IHostApplicationLifetime.ApplicationStarted</c>), gives back the memory that start-up
    /// used and no longer needs: one blocking, compacting full collection in <see cref="GCCollectionMode.Aggressive"/>
    /// mode (the GC decommits the regions the start-up garbage filled: EF Core's model building, OpenIddict's, MVC's
    /// and Identity's discovery, the key ring, migrations), then glibc's <c>malloc_trim(0)</c>, which returns the free
    /// pages of every malloc arena (the JIT's and the type loader's start-up allocations) to the system. Without it
    /// those pages stay resident for the life of the process and every later peak sits on top of them: the benchmark
    /// measured the refresh and sign-in peaks 10-13 MB lower (docs/deployment.md, "Memory"). It runs once, before the
    /// node takes traffic in earnest; a collection of the start-up heap takes a few tens of milliseconds.
    /// </summary>
    public static void ReturnStartupMemory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: nothing to trim.
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
#pragma warning disable SYSLIB1054 // As MallOpt: one call, no unsafe code for the whole server.
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054

    [DllImport("libc", EntryPoint = "mallopt")]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code enabled for the whole server, for one int call.
    private static extern int MallOpt(int parameter, int value);
#pragma warning restore SYSLIB1054
}
