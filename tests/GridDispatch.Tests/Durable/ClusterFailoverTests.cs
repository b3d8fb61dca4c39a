using System.Diagnostics;
using GridDispatch.Silo.Database;
using GridDispatch.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace GridDispatch.Tests.Durable;

/// <summary>
/// Three silos on one PostgreSQL: two separate silo processes (GridDispatch.Silo, killed with SIGKILL) and one in this
/// process that the test talks through. Membership timing is the shipped default (a dead silo declared in about 5 s).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterFailoverTests(PostgresServer postgres, ITestOutputHelper output)
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["GridDispatch:Dispatch:CriticalAcceptanceTimeout"] = "00:00:10",
    };

    [Fact]
    public async Task Killing_one_of_three_silos_loses_no_accepted_incident_duplicates_no_dispatch_and_its_deadlines_fire_on_the_survivors()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        await SchemaMigrator.MigrateAsync(connection);
        var victimPort = ApiFixture.FreePort();
        using var survivor = SiloProcess.Start(connection, ApiFixture.FreePort(), Settings);
        using var victim = SiloProcess.Start(connection, victimPort, Settings);
        await Eventually.Get(() => ActiveSilos(connection), n => n == 2, TimeSpan.FromSeconds(60), "two silo processes active");
        await using var host = await DurableHost.StartAsync(connection, Settings);
        await Eventually.Get(() => ActiveSilos(connection), n => n == 3, TimeSpan.FromSeconds(30), "three silos active");

        var city = TestCity.Create(communities: 2, gridsPerCommunity: 4);
        var workers = city.Grids.SelectMany(g => new[] { city.AddWorker($"a{g[^3..]}{g[^6..^3]}", [g], capacity: 1000), city.AddWorker($"b{g[^3..]}{g[^6..^3]}", [g], capacity: 1000) }).ToList();
        await city.LoadAsync(host.Grains);

        // A steady stream of critical incidents (never acknowledged, so each has a pending 10 s deadline); the victim dies mid-stream.
        var accepted = new List<IncidentView>();
        var refused = 0;
        var stream = Stopwatch.StartNew();
        TimeSpan? killedAt = null;
        Task<TimeSpan>? declaredDead = null;
        var slowest = TimeSpan.Zero;
        TimeSpan? lastFailure = null;
        for (var i = 0; stream.Elapsed < TimeSpan.FromSeconds(14); i++)
        {
            if (killedAt is null && stream.Elapsed > TimeSpan.FromSeconds(4))
            {
                victim.Kill();
                killedAt = stream.Elapsed;
                declaredDead = WhenDeclaredDead(connection, victimPort, stream);
            }

            var call = Stopwatch.StartNew();
            try
            {
                accepted.Add(await host.Grains.ReportAsync(Reports.Make(city.Grids[i % city.Grids.Count], severity: Severity.Critical)));
            }
            catch (Exception ex) when (ex is not DomainException)
            {
                refused++; // not accepted: the caller saw the failure and would retry with the same key
                lastFailure = stream.Elapsed;
            }

            if (killedAt is not null && call.Elapsed > slowest)
            {
                slowest = call.Elapsed;
            }

            await Task.Delay(50);
        }

        var dead = await declaredDead!;
        output.WriteLine($"killed silo declared dead {(dead - killedAt!.Value).TotalSeconds:F1} s after the kill; slowest report after the kill {slowest.TotalSeconds:F1} s; " +
            $"last failed report {(lastFailure is { } f && f > killedAt ? $"{(f - killedAt.Value).TotalSeconds:F1} s after the kill" : "none after the kill")}");
        output.WriteLine($"{accepted.Count} accepted, {refused} refused during the stream; victim killed at {killedAt:g}");
        Assert.True(accepted.Count >= 100, $"only {accepted.Count} accepted");

        // Every accepted incident is there and, after its 10 s deadline, was moved on by a reminder on a survivor.
        // Each accepted incident has a deadline pending: its 10 s acknowledgement window, or — when its grid could not be
        // reached during the failover — a route retry (1 min, on the reminders' 1-minute resolution). Either fires on a
        // survivor. Once it has, the current assignee acknowledges, so nothing moves the task while we look.
        var views = new List<IncidentView>();
        var retried = 0;
        foreach (var incident in accepted)
        {
            var grain = host.Grains.GetGrain<IIncidentGrain>(incident.Id);
            var wasRouted = incident.State == IncidentState.Dispatched;
            retried += wasRouted ? 0 : 1;
            var view = await Eventually.Get(grain.GetAsync,
                v => v.Timeline.Any(e => e.Kind == IncidentEventKind.AcceptanceTimedOut) || (!wasRouted && v.State == IncidentState.Dispatched),
                TimeSpan.FromSeconds(180), $"deadline of {incident.Id} fired");
            for (var attempt = 0; attempt < 5 && view is { State: IncidentState.Dispatched, Acknowledged: false, Assignee.Kind: AssigneeKind.Worker }; attempt++)
            {
                try
                {
                    view = await grain.AcknowledgeAsync(new ActorCommand(view.Assignee.Id));
                }
                catch (DomainException)
                {
                    view = await grain.GetAsync(); // it moved on between our read and the acknowledgement
                }
            }

            views.Add(view);
        }

        // No dispatch is duplicated: each incident is an open task of exactly the worker it is assigned to.
        var holders = new Dictionary<string, List<string>>();
        foreach (var worker in workers)
        {
            foreach (var task in (await host.Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Tasks.Where(t => t.Status is TaskStatus.Offered or TaskStatus.Acknowledged or TaskStatus.InProgress))
            {
                (holders.TryGetValue(task.IncidentId, out var list) ? list : holders[task.IncidentId] = []).Add(worker);
            }
        }

        foreach (var view in views.Where(v => v.Assignee is { Kind: AssigneeKind.Worker }))
        {
            Assert.Equal([view.Assignee!.Id], holders.GetValueOrDefault(view.Id, []));
        }

        output.WriteLine($"all {views.Count} deadlines fired on survivors ({retried} of them route retries after an unreachable grid)");
    }

    private static async Task<TimeSpan> WhenDeclaredDead(string connection, int port, Stopwatch clock)
    {
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (await SiloStatus(connection, port) == 6)
            {
                return clock.Elapsed;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the killed silo was never declared dead");
    }

    private static async Task<long> ActiveSilos(string connection)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM gd_membership WHERE status = 3", db);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private static async Task<int> SiloStatus(string connection, int port)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT status FROM gd_membership WHERE port = $1 ORDER BY generation DESC LIMIT 1", db);
        read.Parameters.AddWithValue(port);
        return (int)(await read.ExecuteScalarAsync() ?? -1);
    }
}

/// <summary>A GridDispatch.Silo process of its own, on loopback ports, against a given database.</summary>
public sealed class SiloProcess : IDisposable
{
    private readonly Process _process;

    private SiloProcess(Process process) => _process = process;

    public static SiloProcess Start(string connectionString, int siloPort, IDictionary<string, string?> settings)
    {
        // The silo's own build output (this test's output carries the web framework's assemblies, not the silo's).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var siloDir = Path.Combine(RepoPaths.Root, "src", "Silo", "bin", configuration, "net10.0");
        var start = new ProcessStartInfo("dotnet", Path.Combine(siloDir, "GridDispatch.Silo.dll"))
        {
            WorkingDirectory = siloDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__GridDispatch"] = connectionString;
        start.Environment["GridDispatch__Silo__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["GridDispatch__Silo__GatewayPort"] = ApiFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
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
}
