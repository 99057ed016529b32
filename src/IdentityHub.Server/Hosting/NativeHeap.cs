using System.Runtime.InteropServices;

namespace IdentityHub.Server.Hosting;

/// <summary>
/// Caps glibc's malloc arenas before the host starts its threads. glibc gives every thread that allocates natively
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

    [DllImport("libc", EntryPoint = "mallopt")]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code enabled for the whole server, for one int call.
    private static extern int MallOpt(int parameter, int value);
#pragma warning restore SYSLIB1054
}
