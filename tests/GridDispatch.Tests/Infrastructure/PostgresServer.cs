using System.Diagnostics;
using Npgsql;

namespace GridDispatch.Tests.Infrastructure;

/// <summary>
/// A private PostgreSQL 15 server for the tests: initdb into a temporary directory, started on a free loopback port
/// with its own socket directory, stopped and removed at the end. initdb refuses root, so as root it runs as the
/// `postgres` user. If no server can be started the tests fail — they never skip (CI must provide PostgreSQL).
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private static readonly string BinDir = Environment.GetEnvironmentVariable("GRIDDISPATCH_PG_BIN") ?? "/usr/lib/postgresql/15/bin";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"griddispatch-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);

    public int Port { get; private set; }

    private string DataDir => Path.Combine(_root, "data");

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=5;Command Timeout=30";

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(BinDir, "initdb")))
        {
            throw new InvalidOperationException($"PostgreSQL binaries not found in {BinDir} (set GRIDDISPATCH_PG_BIN)");
        }

        Directory.CreateDirectory(_root);
        Port = ApiFixture.FreePort();
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await Run("chown", $"postgres {_root}", asPostgres: false);
        }

        await Run(Path.Combine(BinDir, "initdb"), $"-D {DataDir} -U postgres --auth=trust --no-sync -E UTF8", asRoot);
        await StartAsync();
    }

    public async Task StartAsync()
    {
        var asRoot = Environment.UserName == "root";
        await Run(Path.Combine(BinDir, "pg_ctl"),
            $"-D {DataDir} -l {Path.Combine(_root, "server.log")} -w -t 30 -o \"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400\" start",
            asRoot);

        // Pooled connections to the previous server process are dead; let the next use open fresh ones.
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Stops the server at once (in-flight work is lost, as in a crash).</summary>
    public Task StopAsync() => Run(Path.Combine(BinDir, "pg_ctl"), $"-D {DataDir} -m immediate -w stop", Environment.UserName == "root");

    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task Run(string file, string arguments, bool asPostgres)
    {
        var start = asPostgres
            ? new ProcessStartInfo("su", ["postgres", "-s", "/bin/sh", "-c", $"{file} {arguments}"])
            : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {arguments} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
