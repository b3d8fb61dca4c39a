using System.Diagnostics;
using System.Globalization;
using GridDispatch.City;
using GridDispatch.Domain;
using Microsoft.Extensions.Options;

namespace GridDispatch.Bench;

/// <summary>
/// The city-scale emergency (issue 12's table): one silo (in memory, or PostgreSQL when ConnectionStrings__GridDispatch
/// is set), a synthetic city of districts × streets × communities × grids with 3 workers per grid and at least 10
/// buildings per grid. It loads the city in bulk, switches the whole city to emergency, launches a building sweep, and
/// reports when the last grid took the switch, when the last grid had dispatched its building tasks, when the city's
/// roll-up showed the sweep in full, memory per grid and per worker, GC pauses and the warnings logged meanwhile.
/// usage: storm [districts=10] [streets=10] [communities=20] [grids=25] [load parallelism=512]
/// </summary>
public static class StormRun
{
    public static async Task RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var spec = new CitySpec(Code: "4497", Name: "Storm City", Districts: Arg(0, 10), StreetsPerDistrict: Arg(1, 10),
            CommunitiesPerStreet: Arg(2, 20), GridsPerCommunity: Arg(3, 25), WorkersPerGrid: 3, MinBuildings: 10);

        using var pauses = new GcPauseMeter();
        var warnings = new WarningCounter();
        using var host = await CityHost.StartAsync(spec.Code, warnings, silo => silo.AddIncomingGrainCallFilter<ScaleProbe>());
        var connection = host.ConnectionString;
        var grains = host.Grains;
        var parallelism = Arg(4, CityLoader.DefaultParallelism);
        var figures = new Dictionary<string, object?> { ["storage"] = connection is null ? "memory" : "postgresql", ["load_parallelism"] = parallelism };

        var watch = Stopwatch.StartNew();
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        var gridCount = city.Grids.Count();
        var buildings = city.Grids.Sum(g => g.Buildings);
        (figures["grids"], figures["workers"], figures["buildings"]) = (gridCount, city.Workers.Count, buildings);
        Console.WriteLine($"{Environment.ProcessorCount} cores; generated {gridCount:N0} grids, {city.Workers.Count:N0} workers, {buildings:N0} buildings in {watch.Elapsed.TotalSeconds:F1} s; storage {figures["storage"]}");
        var database = connection is null ? null : await DatabaseCounters.ReadAsync(connection);
        var heapBefore = Collect("before load");

        var units = await CityLoader.LoadUnitsAsync(grains, city, parallelism);
        var heapUnits = Collect("grids defined");
        var workers = await CityLoader.LoadWorkersAsync(grains, city, parallelism);
        var failures = units.Failures.Concat(workers.Failures).ToList();
        if (failures.Count > 0)
        {
            Console.WriteLine($"load failures: {failures.Count}, first: {failures[0]}");
        }

        figures["load_s"] = Seconds(units.Elapsed + workers.Elapsed);
        figures["load_units_s"] = Seconds(units.Elapsed);
        figures["load_workers_s"] = Seconds(workers.Elapsed);
        figures["load_failures"] = failures.Count;
        Console.WriteLine($"loaded in {figures["load_s"]} s (grids and regions {figures["load_units_s"]} s, workers {figures["load_workers_s"]} s)");
        await Task.Delay(TimeSpan.FromSeconds(5)); // let roster reports and roll-ups settle
        var heapWorkers = Collect("after load");
        figures["bytes_per_grid"] = (heapUnits - heapBefore) / gridCount;     // with its share of the 2,111 regions
        figures["bytes_per_worker"] = (heapWorkers - heapUnits) / city.Workers.Count;    // with the roster entries it adds to units
        var loadDatabase = connection is null ? null : await DatabaseCounters.ReadAsync(connection);
        pauses.Reset();
        warnings.Reset();

        // 1. The whole city to emergency.
        ScaleProbe.Reset(gridCount);
        var started = Stopwatch.GetTimestamp();
        await grains.GetGrain<IEmergencyGrain>(spec.Code).SwitchAsync(new ModeCommand(Mode.Emergency, "I", "storm run: typhoon", "bench-commander"));
        figures["switch_returned_ms"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        var switched = await ScaleProbe.ModeReached.Task.WaitAsync(TimeSpan.FromMinutes(10));
        figures["switch_s"] = Seconds(Stopwatch.GetElapsedTime(started, switched));
        Console.WriteLine($"switch: command returned after {figures["switch_returned_ms"]} ms; last of {gridCount:N0} grids in emergency after {figures["switch_s"]} s");

        try
        {
            // 2. A building sweep over the whole city.
            started = Stopwatch.GetTimestamp();
            var campaign = await grains.GetGrain<ICampaignGrain>("storm-sweep").LaunchAsync(
                new CampaignSpec(spec.Code, CampaignKind.SweepBuildings, "Sweep every building", null, "bench-commander"));
            figures["sweep_launch_returned_ms"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var dispatched = await ScaleProbe.CampaignDispatched.Task.WaitAsync(TimeSpan.FromMinutes(10));
            figures["sweep_dispatched_s"] = Seconds(Stopwatch.GetElapsedTime(started, dispatched));
            Console.WriteLine($"sweep: last of {gridCount:N0} grids had dispatched its building tasks after {figures["sweep_dispatched_s"]} s");
            var quiet = await ScaleProbe.WaitForWorkersAsync(TimeSpan.FromSeconds(3));
            figures["sweep_worker_updates"] = ScaleProbe.WorkerUpdates;
            figures["sweep_workers_s"] = Seconds(Stopwatch.GetElapsedTime(started, quiet));

            // 3. What the city sees through the roll-ups (2 s per level by default).
            var view = await WaitAsync(async () => await grains.GetGrain<ICampaignGrain>(campaign.Id).GetAsync(0),
                v => v.Progress.Total == buildings && v.Progress.Pending == 0, TimeSpan.FromMinutes(5));
            figures["sweep_visible_s"] = Seconds(Stopwatch.GetElapsedTime(started));
            figures["storm_end_to_end_s"] = Math.Round((double)figures["switch_s"]! + (double)figures["sweep_visible_s"]!, 2);
            figures["sweep_tasks"] = view.Progress.Total;
            figures["sweep_assigned"] = view.Progress.Assigned;
            figures["sweep_pending"] = view.Progress.Pending;
            var modes = await grains.GetRegion(spec.Code).GetAsync();
            figures["emergency_grids_at_city"] = modes.Summary.EmergencyGrids;
            Console.WriteLine($"city roll-up: {view.Progress.Total:N0} building tasks, {view.Progress.Pending} pending, visible after {figures["sweep_visible_s"]} s; {modes.Summary.EmergencyGrids:N0} grids in emergency");
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            // A phase that does not finish is a result too: the figures so far are written with what stopped it.
            figures["sweep_error"] = e.Message[..Math.Min(200, e.Message.Length)];
            Console.WriteLine($"sweep did not finish: {figures["sweep_error"]}");
        }

        figures["max_gc_pause_ms"] = Math.Round(pauses.MaxPauseMs, 1);
        figures["max_gc_pause_ms_by_generation"] = pauses.MaxByGeneration;
        figures["gc_pauses"] = pauses.Pauses;
        figures["gc_pause_total_ms"] = Math.Round(pauses.TotalPauseMs);
        figures["warnings"] = warnings.Total;
        figures["warnings_by_category"] = warnings.ByCategory.OrderByDescending(kv => kv.Value).Take(8).ToDictionary(kv => kv.Key, kv => kv.Value);
        if (connection is not null)
        {
            var end = await DatabaseCounters.ReadAsync(connection);
            figures["storage_warnings"] = warnings.ByCategory.Where(kv => kv.Key.Contains("Storage", StringComparison.Ordinal)).Sum(kv => kv.Value);
            figures["load_rows"] = loadDatabase!.Rows - database!.Rows;
            figures["load_commits"] = loadDatabase.Commits - database.Commits;
            figures["storm_rows"] = end.Rows - loadDatabase.Rows;
            figures["storm_commits"] = end.Commits - loadDatabase.Commits;
        }

        Collect("end");
        figures["peak_working_set_mib"] = Mib(Process.GetCurrentProcess().PeakWorkingSet64);
        await BenchReport.WriteAsync("storm", figures);

        // No graceful stop: deactivating 200,000 grains one by one takes minutes and measures nothing.
        Environment.Exit(0);
    }

    internal static double Seconds(TimeSpan t) => Math.Round(t.TotalSeconds, 2);

    private static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(100);
        }
    }

    internal static long Collect(string when)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heap = GC.GetTotalMemory(false);
        Console.WriteLine($"{when}: managed heap {heap / (1024 * 1024):N0} MiB, working set {Mib(Environment.WorkingSet)} MiB");
        return heap;
    }

    internal static long Mib(long bytes) => bytes / (1024 * 1024);
}

/// <summary>Sees, inside the silo, when the last grid took a mode broadcast and when it had dispatched a campaign round.</summary>
public sealed class ScaleProbe : IIncomingGrainCallFilter
{
    private static int _grids;
    private static int _modes;
    private static int _rounds;
    private static long _workerUpdates;
    private static long _lastWorkerUpdate;

    public static TaskCompletionSource<long> ModeReached { get; private set; } = new();

    public static TaskCompletionSource<long> CampaignDispatched { get; private set; } = new();

    public static long WorkerUpdates => Interlocked.Read(ref _workerUpdates);

    public static void Reset(int grids)
    {
        _grids = grids;
        _modes = 0;
        _rounds = 0;
        ModeReached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        CampaignDispatched = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        if (context.Grain is IGridGrain)
        {
            if (context.MethodName == nameof(IGridGrain.InheritModeAsync) && Interlocked.Increment(ref _modes) == _grids)
            {
                ModeReached.TrySetResult(Stopwatch.GetTimestamp());
            }
            else if (context.MethodName == nameof(IGridGrain.StartCampaignAsync) && Interlocked.Increment(ref _rounds) == _grids)
            {
                CampaignDispatched.TrySetResult(Stopwatch.GetTimestamp());
            }
        }
        else if (context.Grain is IWorkerGrain && context.MethodName == nameof(IWorkerGrain.SweepTasksChangedAsync))
        {
            Interlocked.Increment(ref _workerUpdates);
            Interlocked.Exchange(ref _lastWorkerUpdate, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>The time of the last worker update once none has come for <paramref name="quiet"/>.</summary>
    public static async Task<long> WaitForWorkersAsync(TimeSpan quiet)
    {
        while (true)
        {
            var last = Interlocked.Read(ref _lastWorkerUpdate);
            await Task.Delay(quiet);
            if (Interlocked.Read(ref _lastWorkerUpdate) == last)
            {
                return last;
            }
        }
    }
}
