using System.Net;
using System.Net.Sockets;

namespace IdentityHub.Tests.Infrastructure;

/// <summary>
/// A free loopback port for a server a test starts itself. Taken from 10000-19999, below the kernel's ephemeral range
/// (32768-60999 by default) and below ./test.sh's PostgreSQL and Redis ports (20000-31999): a port the kernel hands out
/// for port 0 is also the pool outgoing connections draw from, so between the check and the server's bind another
/// process's connection could take it.
/// </summary>
public static class TestPorts
{
    public static int Free()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(10_000, 20_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        throw new InvalidOperationException("No free loopback port in 10000-19999.");
    }
}
