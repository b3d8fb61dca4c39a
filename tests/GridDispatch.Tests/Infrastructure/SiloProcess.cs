using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

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
        // The fast membership timings of tests and the local cluster (GridDispatch:Membership; production keeps Orleans'):
        // a killed silo is declared dead in about a second.
        foreach (var (key, value) in GridDispatch.Silo.Database.MembershipTimingOptions.Fast)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

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

    /// <summary>Silos the membership table lists as active (status 3).</summary>
    public static async Task<long> ActiveSilosAsync(string connectionString)
    {
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM gd_membership WHERE status = 3", db);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>The membership status of the newest silo on <paramref name="port"/> (6 = dead), or -1 when none is listed.</summary>
    public static async Task<int> MembershipStatusAsync(string connectionString, int port)
    {
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT status FROM gd_membership WHERE port = $1 ORDER BY generation DESC LIMIT 1", db);
        read.Parameters.AddWithValue(port);
        return (int)(await read.ExecuteScalarAsync() ?? -1);
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
