using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
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
        var figures = new Dictionary<string, object?>
        {
            ["incidents"] = incidents,
            ["concurrency"] = concurrency,
        };

        Console.WriteLine($"{Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}; {incidents} incidents, {concurrency} callers");
        // The rivals get the best of the engine's connection settings: auto-prepared statements (theirs never fail
        // mid-transaction), no reset on close.
        var tuned = GridDispatch.Silo.Database.ConnectionTuning.Apply(connection, autoPrepare: true);
        figures["raw_insert_per_s"] = Math.Round(await SqlBaseline.RawInsertsAsync(tuned, concurrency, TimeSpan.FromSeconds(5)));
        await SqlBaseline.PrepareAsync(connection);
        await SqlBaseline.RunAsync(tuned, TimeSpan.FromSeconds(2));      // warm-up
        var baseline = await SqlBaseline.RunAsync(tuned, TimeSpan.FromSeconds(10));
        figures["baseline_dispatch_per_s"] = Math.Round(baseline.DispatchPerSecond);
        figures["baseline_p50_ms"] = Math.Round(baseline.P50Ms, 2);
        figures["baseline_p99_ms"] = Math.Round(baseline.P99Ms, 2);

        using var meter = new StoreMeter();
        await using var silo = await BenchSilo.StartAsync("4496", gridsPerCommunity: 50);
        void StoreFigures(string phase)
        {
            var (batch, commitMs, appendMs, commits) = meter.TakeMedians();
            figures[$"{phase}_commits"] = commits;
            figures[$"{phase}_appends_per_commit_p50"] = batch;
            figures[$"{phase}_commit_p50_ms"] = Math.Round(commitMs, 2);
            figures[$"{phase}_append_wait_p50_ms"] = Math.Round(appendMs, 2);
        }

        var run = $"{DateTime.UtcNow:HHmmss}";
        await silo.StoreAppendsAsync(concurrency, TimeSpan.FromSeconds(1), $"warm-{run}");
        meter.TakeMedians();
        var (appendRate, appendLatencies) = await silo.StoreAppendsAsync(concurrency, TimeSpan.FromSeconds(5), run);
        StoreFigures("store");
        figures["store_append_per_s"] = Math.Round(appendRate);
        figures["store_append_p50_ms"] = Math.Round(SqlBaseline.Percentile(appendLatencies, 0.5), 2);
        figures["store_append_p99_ms"] = Math.Round(SqlBaseline.Percentile(appendLatencies, 0.99), 2);

        await silo.IntakeAsync(Math.Min(500, incidents), concurrency, $"warm-{run}");
        meter.TakeMedians();
        var (intakeRate, latencies) = await silo.IntakeAsync(incidents, concurrency, $"in-{run}");
        StoreFigures("intake");
        figures["intake_per_s"] = Math.Round(intakeRate);
        figures["intake_p50_ms"] = Math.Round(SqlBaseline.Percentile(latencies, 0.5), 2);
        figures["intake_p99_ms"] = Math.Round(SqlBaseline.Percentile(latencies, 0.99), 2);

        await silo.FullLoopAsync(Math.Min(500, incidents), concurrency, $"warm-loop-{run}");     // the loop's other commands get their JIT too
        var before = await DatabaseCounters.ReadAsync(connection);
        var callsBefore = silo.Calls.Snapshot();
        meter.TakeMedians();
        var loop = await silo.FullLoopAsync(incidents, concurrency, $"loop-{run}");
        StoreFigures("loop");
        await Task.Delay(TimeSpan.FromSeconds(3));      // roll-ups and write-behind flush, statistics settle
        var after = await DatabaseCounters.ReadAsync(connection);
        var calls = CallCounter.Between(callsBefore, silo.Calls.Snapshot(), incidents);
        figures["grain_calls_per_incident"] = Math.Round(calls.Sum(c => c.PerIncident), 1);
        figures["grain_calls_by_method"] = calls.Take(12).ToDictionary(c => c.Call[(c.Call.LastIndexOf('.', c.Call.LastIndexOf('.') - 1) + 1)..], c => Math.Round(c.PerIncident, 1));
        figures["full_loop_per_s"] = Math.Round(loop);
        figures["rows_per_incident"] = Math.Round((after.Rows - before.Rows) / (double)incidents, 1);
        figures["commits_per_incident"] = Math.Round((after.Commits - before.Commits - 1) / (double)incidents, 2);
        figures["commits_per_command"] = Math.Round((after.Commits - before.Commits - 1) / (5.0 * incidents), 2);
        figures["rows_by_table"] = after.ByTable.ToDictionary(kv => kv.Key, kv => Math.Round((kv.Value - before.ByTable.GetValueOrDefault(kv.Key)) / (double)incidents, 1))
            .Where(kv => kv.Value > 0).ToDictionary();
        figures["intake_vs_baseline"] = Math.Round(intakeRate / baseline.DispatchPerSecond, 2);
        figures["intake_vs_raw_insert"] = Math.Round(intakeRate / (double)figures["raw_insert_per_s"]!, 2);
        figures["intake_p99_vs_baseline_p99"] = Math.Round(SqlBaseline.Percentile(latencies, 0.99) / baseline.P99Ms, 2);
        figures["peak_working_set_mib"] = Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024);

        await BenchReport.WriteAsync("durable", figures);
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
