using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace IdentityHub.Tests.Benchmarks;

/// <summary>
/// Runs the benchmark tool (tests/IdentityHub.Benchmarks, built with the tests) as a separate process with the given
/// arguments plus --output/--json into a temporary folder, fails the test on a non-zero exit or after 8 minutes, and
/// returns the JSON results, the markdown report and the tool's output.
/// </summary>
public static class BenchmarkTool
{
    public static async Task<(JsonDocument Json, string Markdown, string Log)> RunAsync(params string[] arguments)
    {
        var configuration = typeof(BenchmarkTool).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var tool = Path.Combine(RepositoryRoot(), "tests", "IdentityHub.Benchmarks", "bin", configuration, "net10.0", "IdentityHub.Benchmarks.dll");
        Assert.True(File.Exists(tool), "The benchmark tool is not built: " + tool);
        var output = Directory.CreateTempSubdirectory("identityhub-bench-smoke-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { tool }.Concat(arguments)
                         .Concat(["--output", Path.Combine(output, "results.md"), "--json", Path.Combine(output, "results.json")]))
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("The benchmark did not finish within 8 minutes: " + await stderr);
            }

            var log = await stdout + await stderr;
            Assert.True(process.ExitCode == 0, $"The benchmark exited with {process.ExitCode}:{Environment.NewLine}{log}");
            return (JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json"))),
                await File.ReadAllTextAsync(Path.Combine(output, "results.md")), log);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "IdentityHub.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("IdentityHub.sln not found above " + AppContext.BaseDirectory);
    }
}
