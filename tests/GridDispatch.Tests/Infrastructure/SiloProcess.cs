using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace GridDispatch.Tests.Infrastructure;

/// <summary>
/// A GridDispatch.Silo process of its own, on loopback ports, against a given database: what the cluster tests and the
/// bench's failover scenario kill. Self-contained (the bench compiles this file too), so it finds the silo's build
/// output from the repository root itself.
/// </summary>
public sealed class SiloProcess : IDisposable
{
    private readonly Process _process;

    private SiloProcess(Process process) => _process = process;

    /// <summary>The build configuration the running test assembly was built in (its output directory's parent).</summary>
    public static string TestConfiguration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public int Id => _process.Id;

    public static SiloProcess Start(string connectionString, int siloPort, IDictionary<string, string?> settings, string configuration)
    {
        // The silo's own build output (a test's output carries the web framework's assemblies, not the silo's).
        var siloDir = Path.Combine(RepositoryRoot(), "src", "Silo", "bin", configuration, "net10.0");
        var start = new ProcessStartInfo("dotnet", Path.Combine(siloDir, "GridDispatch.Silo.dll"))
        {
            WorkingDirectory = siloDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__GridDispatch"] = connectionString;
        start.Environment["GridDispatch__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["GridDispatch__Silo__GatewayPort"] = FreePort().ToString(CultureInfo.InvariantCulture);
        start.Environment["GridDispatch__City__LoadOnStart"] = "false";
        start.Environment["GridDispatch__Simulation__Enabled"] = "false";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new SiloProcess(process);
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GridDispatch.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("GridDispatch.sln not found above " + AppContext.BaseDirectory);
    }
}
