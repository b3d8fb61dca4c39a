using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GridDispatch.Bench;

/// <summary>
/// The durable path against its ceiling and its rival, in one run on one PostgreSQL: single-row inserts through Npgsql
/// at the engine's concurrency (the ceiling), the conventional SQL dispatcher (<see cref="SqlBaseline"/>, the rival),
/// then one silo on the same database: intake (report → accept → dispatch) and the full loop (report, start, resolve,
/// verify, rate: 5 commands, 9 timeline entries), with the rows and commits the database saw per incident. Prints a
/// table and writes artifacts/bench/durable.json.
/// usage: ConnectionStrings__GridDispatch=... dotnet run -c Release --project bench/GridDispatch.Bench -- durable [incidents=3000] [concurrency=32]
/// </summary>
public static class DurableRun
{
    public static async Task RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var incidents = Arg(0, 3000);
        var concurrency = Arg(1, 32);
        var connection = Environment.GetEnvironmentVariable("ConnectionStrings__GridDispatch")
            ?? throw new InvalidOperationException("Set ConnectionStrings__GridDispatch to a PostgreSQL database the bench may fill (and whose baseline_* tables it drops).");
        var figures = new Dictionary<string, object>
        {
            ["cores"] = Environment.ProcessorCount,
            ["memory_mib"] = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024),
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["incidents"] = incidents,
            ["concurrency"] = concurrency,
        };

        Console.WriteLine($"{Environment.ProcessorCount} cores, {figures["memory_mib"]} MiB, {RuntimeInformation.FrameworkDescription}; {incidents} incidents, {concurrency} callers");
        figures["raw_insert_per_s"] = Math.Round(await SqlBaseline.RawInsertsAsync(connection, concurrency, TimeSpan.FromSeconds(5)));
        await SqlBaseline.PrepareAsync(connection);
        await SqlBaseline.RunAsync(connection, TimeSpan.FromSeconds(2));      // warm-up
        var baseline = await SqlBaseline.RunAsync(connection, TimeSpan.FromSeconds(10));
        figures["baseline_dispatch_per_s"] = Math.Round(baseline.DispatchPerSecond);
        figures["baseline_p50_ms"] = Math.Round(baseline.P50Ms, 2);
        figures["baseline_p99_ms"] = Math.Round(baseline.P99Ms, 2);

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GridDispatch:City:LoadOnStart"] = "false",
            ["GridDispatch:Simulation:Enabled"] = "false",
        });
        builder.UseOrleans(silo => silo.UseGridDispatch(builder.Configuration));
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var spec = new CitySpec(Code: "4496", Districts: 1, StreetsPerDistrict: 4, CommunitiesPerStreet: 5, GridsPerCommunity: 50, WorkersPerGrid: 3);
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        var load = await CityLoader.LoadAsync(grains, city);
        var grids = city.Grids.Select(g => g.Code).ToArray();
        Console.WriteLine($"engine city: {load.Grids} grids, {load.Workers} workers loaded in {load.Elapsed.TotalSeconds:F1} s");

        var run = $"{DateTime.UtcNow:HHmmss}";
        await IntakeAsync(grains, grids, Math.Min(500, incidents), concurrency, $"warm-{run}");
        var intake = await IntakeAsync(grains, grids, incidents, concurrency, $"in-{run}");
        figures["intake_per_s"] = Math.Round(intake.PerSecond);
        figures["intake_p50_ms"] = Math.Round(intake.P50Ms, 2);
        figures["intake_p99_ms"] = Math.Round(intake.P99Ms, 2);

        var before = await DatabaseCounters.ReadAsync(connection);
        var loop = await FullLoopAsync(grains, grids, incidents, concurrency, $"loop-{run}");
        await Task.Delay(TimeSpan.FromSeconds(3));      // roll-ups and write-behind flush, statistics settle
        var after = await DatabaseCounters.ReadAsync(connection);
        figures["full_loop_per_s"] = Math.Round(loop);
        figures["rows_per_incident"] = Math.Round((after.Rows - before.Rows) / (double)incidents, 1);
        figures["commits_per_incident"] = Math.Round((after.Commits - before.Commits - 1) / (double)incidents, 2);
        figures["commits_per_command"] = Math.Round((after.Commits - before.Commits - 1) / (5.0 * incidents), 2);
        figures["rows_by_table"] = after.ByTable.ToDictionary(kv => kv.Key, kv => Math.Round((kv.Value - before.ByTable.GetValueOrDefault(kv.Key)) / (double)incidents, 1))
            .Where(kv => kv.Value > 0).ToDictionary();
        figures["intake_vs_baseline"] = Math.Round(intake.PerSecond / baseline.DispatchPerSecond, 2);
        figures["intake_vs_raw_insert"] = Math.Round(intake.PerSecond / (double)figures["raw_insert_per_s"], 2);
        figures["intake_p99_vs_baseline_p99"] = Math.Round(intake.P99Ms / baseline.P99Ms, 2);
        figures["peak_working_set_mib"] = Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024);
        await host.StopAsync();

        Console.WriteLine();
        Console.WriteLine("| figure | value |");
        Console.WriteLine("| --- | --- |");
        foreach (var (key, value) in figures)
        {
            Console.WriteLine($"| {key} | {(value is Dictionary<string, double> d ? string.Join(", ", d.Select(kv => $"{kv.Key} {kv.Value}")) : value)} |");
        }

        Directory.CreateDirectory(Path.Combine("artifacts", "bench"));
        var path = Path.Combine("artifacts", "bench", "durable.json");
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(figures, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"written {Path.GetFullPath(path)}");
    }

    private sealed record Timed(double PerSecond, double P50Ms, double P99Ms);

    private static readonly string[] Categories = ["0101", "0103", "0401", "1301", "1601"];

    private static async Task<Timed> IntakeAsync(IGrainFactory grains, string[] grids, int incidents, int concurrency, string run)
    {
        var latencies = new ConcurrentBag<double>();
        var ids = new string[incidents];
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, incidents), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
        {
            var report = new IncidentReport(Categories[i % Categories.Length], Severity.Routine, grids[i % grids.Length], "bench", "intake", $"{run}-{i}", null, null, "r");
            var started = Stopwatch.GetTimestamp();
            ids[i] = (await grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId)).ReportAsync(report)).Incident.Id;
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        });
        var rate = incidents / watch.Elapsed.TotalSeconds;

        // Cancelled afterwards, so workers do not fill up for the next run.
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (id, _) =>
            await grains.GetGrain<IIncidentGrain>(id).CancelAsync(new ActorCommand("bench", "bench cleanup")));
        var sorted = latencies.Order().ToArray();
        return new Timed(rate, SqlBaseline.Percentile(sorted, 0.5), SqlBaseline.Percentile(sorted, 0.99));
    }

    private static async Task<double> FullLoopAsync(IGrainFactory grains, string[] grids, int incidents, int concurrency, string run)
    {
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, incidents), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
        {
            var report = new IncidentReport(Categories[i % Categories.Length], Severity.Routine, grids[i % grids.Length], "bench", "bench",
                $"{run}-{i}", new Reporter("r", null, null, null), null, "r");
            var incident = grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId));
            var view = (await incident.ReportAsync(report)).Incident;
            var worker = view.Assignee!.Id;
            await incident.StartAsync(new ActorCommand(worker));
            await incident.ResolveAsync(new ActorCommand(worker, "done"));
            await incident.VerifyAsync(new ActorCommand("s"));
            await incident.RateAsync(new RateCommand("r", 5));
        });
        return incidents / watch.Elapsed.TotalSeconds;
    }
}

/// <summary>Rows written (inserted, updated, deleted) per table, from PostgreSQL's statistics, and writing transactions committed.</summary>
public sealed record DatabaseCounters(long Rows, long Commits, Dictionary<string, long> ByTable)
{
    public static async Task<DatabaseCounters> ReadAsync(string connectionString)
    {
        await Task.Delay(1100);     // backends flush their statistics at most once a second
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        await using var tables = new NpgsqlCommand(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relname NOT LIKE 'baseline%'", db);
        var byTable = new Dictionary<string, long>();
        await using (var reader = await tables.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                byTable[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        // Writing transactions: each one takes a transaction id (read-only ones do not), so the ids used between two
        // readings count the commits that wrote something, whoever made them (this reading takes one itself).
        await using var commits = new NpgsqlCommand("SELECT txid_current()", db);
        var committed = (long)(await commits.ExecuteScalarAsync())!;
        return new DatabaseCounters(byTable.Values.Sum(), committed, byTable);
    }
}
