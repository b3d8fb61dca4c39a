using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using GridDispatch.City;
using GridDispatch.Domain;
using Microsoft.Extensions.Options;

namespace GridDispatch.Bench;

/// <summary>
/// The field reports' surge (issue 12's <c>surge</c>): one province sent 580,000 cadres into 27,345 communities. A
/// province of districts × streets × communities (30 × 30 × 30 = 27,000 communities by default, 2 grids each, 3
/// workers per grid) is loaded and switched to emergency; then the temporary workers are registered by need through
/// the commander's surge command, each district's share in requests of
/// at most 5,000 (the command's limit) scoped to the district, as a province hands its cadres down to its counties.
/// Reports the seconds from the first request to the last worker attached, the workers per second, the grids' roster
/// sizes afterwards, memory (peak working set, managed heap per temporary worker) and the longest GC pause.
/// usage: surge [temporary=580000] [districts=30] [streets=30] [communities=30] [grids=2]
/// </summary>
public static class SurgeRun
{
    private static readonly ImmutableArray<string> Categories = ["0101", "0401", "1301"];

    /// <summary>The surge command's own limit on one request.</summary>
    private const int MaxPerRequest = 5000;

    public static async Task RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var temporary = Arg(0, 580_000);
        var spec = new CitySpec(Code: "4496", Name: "Surge Province", Districts: Arg(1, 30), StreetsPerDistrict: Arg(2, 30),
            CommunitiesPerStreet: Arg(3, 30), GridsPerCommunity: Arg(4, 2), WorkersPerGrid: 3);

        using var pauses = new GcPauseMeter();
        var warnings = new WarningCounter();
        using var host = await CityHost.StartAsync(spec.Code, warnings);
        var grains = host.Grains;
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        var districts = city.Districts.Select(d => d.Code).ToArray();
        var gridCount = city.Grids.Count();
        var figures = new Dictionary<string, object?>
        {
            ["storage"] = host.ConnectionString is null ? "memory" : "postgresql",
            ["communities"] = spec.Districts * spec.StreetsPerDistrict * spec.CommunitiesPerStreet,
            ["grids"] = gridCount,
            ["permanent_workers"] = city.Workers.Count,
            ["temporary_workers"] = temporary,
        };
        Console.WriteLine($"{Environment.ProcessorCount} cores; {figures["communities"]:N0} communities, {gridCount:N0} grids, {city.Workers.Count:N0} permanent workers; {temporary:N0} to surge; storage {figures["storage"]}");

        var load = Stopwatch.StartNew();
        var units = await CityLoader.LoadUnitsAsync(grains, city, parallelism: 64);
        var workers = await CityLoader.LoadWorkersAsync(grains, city, parallelism: 64);
        figures["load_s"] = StormRun.Seconds(load.Elapsed);
        figures["load_failures"] = units.Failures.Count + workers.Failures.Count;
        Console.WriteLine($"province loaded in {figures["load_s"]} s");
        await grains.GetGrain<IEmergencyGrain>(spec.Code).SwitchAsync(new ModeCommand(Mode.Emergency, "I", "surge run: flood", "bench-commander"));
        await Task.Delay(TimeSpan.FromSeconds(5));  // let the switch and the roll-ups settle before measuring the surge
        var heapBefore = StormRun.Collect("before surge");
        pauses.Reset();
        warnings.Reset();

        // The cadres, split over the districts in proportion, each request attaching its district's share by need.
        var share = (temporary + districts.Length - 1) / districts.Length;
        var started = Stopwatch.GetTimestamp();
        var attached = 0;
        var slowest = 0.0;
        var requests = 0;
        for (var d = 0; d < districts.Length && attached < temporary; d++)
        {
            var districtEnd = Math.Min(temporary, attached + share);
            while (attached < districtEnd)
            {
                var count = Math.Min(MaxPerRequest, districtEnd - attached);
                var batch = ImmutableArray.CreateRange(Enumerable.Range(attached, count).Select(i =>
                    new SurgeWorker($"t{i:D7}", $"Cadre {i}", WorkerKind.Volunteer, Categories, Capacity: 3)));
                var requestStarted = Stopwatch.GetTimestamp();
                var result = await grains.GetGrain<IEmergencyGrain>(spec.Code).SurgeAsync(new SurgeRequest(districts[d], "bench-commander", SurgeAttach.ByNeed, batch));
                slowest = Math.Max(slowest, Stopwatch.GetElapsedTime(requestStarted).TotalSeconds);
                attached += result.Placements.Length;
                requests++;
            }

            if (d % 5 == 0)
            {
                Console.WriteLine($"  {districts[d]}: {attached:N0} attached so far, {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        figures["surge_s"] = StormRun.Seconds(elapsed);
        figures["attached"] = attached;
        figures["workers_per_s"] = Math.Round(attached / elapsed.TotalSeconds);
        figures["requests"] = requests;
        figures["slowest_request_s"] = Math.Round(slowest, 2);
        figures["max_gc_pause_ms"] = Math.Round(pauses.MaxPauseMs, 1);
        figures["max_gc_pause_ms_by_generation"] = pauses.MaxByGeneration;
        figures["gc_pause_total_ms"] = Math.Round(pauses.TotalPauseMs);
        figures["warnings"] = warnings.Total;
        figures["warnings_by_category"] = warnings.ByCategory.OrderByDescending(kv => kv.Value).Take(8).ToDictionary(kv => kv.Key, kv => kv.Value);
        Console.WriteLine($"surge: {attached:N0} attached in {figures["surge_s"]} s ({figures["workers_per_s"]}/s)");

        // What the grids now hold: every temporary worker is on exactly one roster.
        var sample = city.Grids.Select(g => g.Code).Where((_, i) => i % Math.Max(1, gridCount / 200) == 0).ToArray();
        var rosters = new List<int>();
        foreach (var code in sample)
        {
            rosters.Add((await grains.GetGrain<IGridGrain>(code).GetAsync()).Roster.Count(e => e.Temporary));
        }

        figures["temporary_per_grid_sampled_min"] = rosters.Min();
        figures["temporary_per_grid_sampled_max"] = rosters.Max();
        var heapAfter = StormRun.Collect("after surge");
        figures["bytes_per_temporary_worker"] = (heapAfter - heapBefore) / Math.Max(1, attached);
        figures["peak_working_set_mib"] = StormRun.Mib(Process.GetCurrentProcess().PeakWorkingSet64);
        await BenchReport.WriteAsync("surge", figures);
        Environment.Exit(0); // as in storm: deactivating a million grains one by one measures nothing
    }
}
