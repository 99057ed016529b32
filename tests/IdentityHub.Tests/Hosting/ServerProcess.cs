using System.Diagnostics;
using System.Text;

namespace IdentityHub.Tests.Hosting;

/// <summary>
/// The built server (src/IdentityHub.Server/bin/&lt;Configuration&gt;/&lt;tfm&gt;/IdentityHub.Server.dll) run as
/// an operator runs it: <c>dotnet IdentityHub.Server.dll [args]</c> in its own directory, configured
/// through environment variables only.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    /// <summary>A guard against a hung child process, so that a failure cannot stall the run; never reached by a healthy test.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _watchers = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process) => _process = process;

    public static string ServerDll { get; } = FindServerDll();

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Where stdout stands now: pass it to <see cref="WaitForOutputLineAsync"/> to wait only for lines written after this
    /// point (a process shared by several tests has earlier tests' lines in its output).
    /// </summary>
    public int OutputMark
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.Length;
            }
        }
    }

    /// <summary>Starts the server with the given environment on top of a cleaned copy of this process's environment.</summary>
    public static ServerProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(ServerDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(ServerDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Nothing of this machine's or the test host's configuration reaches the server: only what the test sets.
        foreach (var key in start.Environment.Keys.ToList())
        {
            if (key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || key.Contains("__", StringComparison.Ordinal)
                || key.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(key);
            }
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.OnLine(server._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(server._stderr, e.Data);
        process.Exited += (_, _) => server._exited.TrySetResult();
        if (!process.Start())
        {
            throw new InvalidOperationException("dotnet did not start.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits for the process to end by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var guard = new CancellationTokenSource(HangGuard);
        try
        {
            await _process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The server did not exit.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
        }

        return _process.ExitCode;
    }

    /// <summary>
    /// Waits until stdout has a line that <paramref name="match"/> accepts, among the lines written from
    /// <paramref name="since"/> (an <see cref="OutputMark"/>; 0: all of them); fails if the process exits first.
    /// </summary>
    public async Task<string> WaitForOutputLineAsync(Func<string, bool> match, int since = 0)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_stdout)
        {
            // Whole lines are appended under the lock, so a mark always falls at the start of a line.
            var existing = _stdout.ToString(since, _stdout.Length - since).Split('\n').FirstOrDefault(match);
            if (existing is not null)
            {
                return existing;
            }

            _watchers.Add((match, found));
        }

        try
        {
            await Task.WhenAny(found.Task, _exited.Task).WaitAsync(HangGuard);
        }
        catch (TimeoutException)
        {
            // Reported below with the output so far.
        }

        if (_exited.Task.IsCompleted)
        {
            // Let the last lines of output arrive before deciding.
            await _process.WaitForExitAsync();
        }

        if (found.Task.IsCompleted)
        {
            return await found.Task;
        }

        throw new InvalidOperationException(
            $"The awaited line never came (process {(_process.HasExited ? "exited with " + _process.ExitCode : "still running")}).\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
    }

    public bool HasExited => _process.HasExited;

    /// <summary>SIGKILL, as kill -9: no shutdown code runs.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void OnLine(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (buffer)
        {
            buffer.Append(line).Append('\n');
            if (buffer != _stdout)
            {
                return;
            }

            foreach (var watcher in _watchers.Where(w => w.Match(line)).ToList())
            {
                _watchers.Remove(watcher);
                watcher.Found.TrySetResult(line);
            }
        }
    }

    private static string FindServerDll()
    {
        // The test assembly sits in tests/IdentityHub.Tests/bin/<Configuration>/<tfm>/; the server was built beside it.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "IdentityHub.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException("IdentityHub.sln not found above " + AppContext.BaseDirectory);
        }

        var dll = Path.Combine(root.FullName, "src", "IdentityHub.Server", "bin", configuration, tfm, "IdentityHub.Server.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"The server is not built: {dll} does not exist (dotnet build -c {configuration}).");
        }

        return dll;
    }
}
