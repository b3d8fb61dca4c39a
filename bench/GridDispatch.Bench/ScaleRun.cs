using System.Diagnostics;
using System.Globalization;
using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GridDispatch.Bench;

/// <summary>
/// The city-scale emergency: one silo (embedded default, in-memory storage), a synthetic city of
/// districts × streets × communities × grids with 3 workers per grid and at least 10 buildings per grid. It switches the
/// whole city to emergency and launches a building sweep, and reports when the last grid took the switch, when the last
/// grid had dispatched its building tasks, when the last worker held its tasks, and peak memory.
/// usage: dotnet run -c Release --project bench/GridDispatch.Bench -- scale [districts=10] [streets=10] [communities=20] [grids=25]
/// </summary>
public static class ScaleRun
{
    public static async Task RunAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        var spec = new CitySpec(Code: "4497", Name: "Scale City", Districts: Arg(0, 10), StreetsPerDistrict: Arg(1, 10),
            CommunitiesPerStreet: Arg(2, 20), GridsPerCommunity: Arg(3, 25), WorkersPerGrid: 3, MinBuildings: 10);

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GridDispatch:City:LoadOnStart"] = "false",
            ["GridDispatch:Simulation:Enabled"] = "false",
            ["GridDispatch:Command:Commanders:bench-commander"] = spec.Code,
        });
        builder.UseOrleans(silo =>
        {
            silo.UseGridDispatch(builder.Configuration);
            silo.AddIncomingGrainCallFilter<ScaleProbe>();
            silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromHours(2));
        });
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();

        var watch = Stopwatch.StartNew();
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        var gridCount = city.Grids.Count();
        var buildings = city.Grids.Sum(g => g.Buildings);
        Console.WriteLine($"{Environment.ProcessorCount} cores; generated {gridCount:N0} grids, {city.Workers.Count:N0} workers, {buildings:N0} buildings in {watch.Elapsed.TotalSeconds:F1} s");
        var load = await CityLoader.LoadAsync(grains, city, parallelism: 64);
        if (!load.Succeeded)
        {
            Console.WriteLine($"load failures: {load.Failures.Count}, first: {load.Failures[0]}");
        }

        Console.WriteLine($"loaded in {load.Elapsed.TotalSeconds:F1} s ({(load.Grids + load.Workers) / load.Elapsed.TotalSeconds:F0} grains defined/s); working set {Mib(Environment.WorkingSet)} MiB");
        await Task.Delay(TimeSpan.FromSeconds(5)); // let roster reports and roll-ups settle
        Collect("after load");

        // 1. The whole city to emergency.
        ScaleProbe.Reset(gridCount);
        var started = Stopwatch.GetTimestamp();
        await grains.GetGrain<IEmergencyGrain>(spec.Code).SwitchAsync(new ModeCommand(Mode.Emergency, "I", "scale run: typhoon", "bench-commander"));
        var commandReturned = Stopwatch.GetElapsedTime(started);
        var switched = await ScaleProbe.ModeReached.Task.WaitAsync(TimeSpan.FromMinutes(10));
        Console.WriteLine($"switch: command returned after {commandReturned.TotalMilliseconds:F0} ms; last of {gridCount:N0} grids in emergency after {(switched - started) * 1000.0 / Stopwatch.Frequency:F0} ms");

        // 2. A building sweep over the whole city.
        started = Stopwatch.GetTimestamp();
        var campaign = await grains.GetGrain<ICampaignGrain>("scale-sweep").LaunchAsync(
            new CampaignSpec(spec.Code, CampaignKind.SweepBuildings, "Sweep every building", null, "bench-commander"));
        var launchReturned = Stopwatch.GetElapsedTime(started);
        var dispatched = await ScaleProbe.CampaignDispatched.Task.WaitAsync(TimeSpan.FromMinutes(10));
        Console.WriteLine($"sweep: launch returned after {launchReturned.TotalMilliseconds:F0} ms; last of {gridCount:N0} grids had dispatched its building tasks after {(dispatched - started) * 1000.0 / Stopwatch.Frequency:F0} ms");
        var quiet = await ScaleProbe.WaitForWorkersAsync(TimeSpan.FromSeconds(3));
        Console.WriteLine($"sweep: {ScaleProbe.WorkerUpdates:N0} worker task updates, the last one taken after {(quiet - started) * 1000.0 / Stopwatch.Frequency:F0} ms");

        // 3. What the city sees through the roll-ups (2 s per level by default).
        var view = await WaitAsync(async () => await grains.GetGrain<ICampaignGrain>(campaign.Id).GetAsync(0),
            v => v.Progress.Total == buildings && v.Progress.Pending == 0, TimeSpan.FromMinutes(5));
        Console.WriteLine($"city roll-up: {view.Progress.Total:N0} building tasks, {view.Progress.Assigned:N0} assigned, {view.Progress.Pending} pending, {view.Progress.Grids:N0} grids, visible at the city after {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
        var modes = await grains.GetRegion(spec.Code).GetAsync();
        Console.WriteLine($"city roll-up: {modes.Summary.EmergencyGrids:N0} grids in emergency, load {modes.Summary.Load:N0} of capacity {modes.Summary.Capacity:N0}, {modes.Summary.Overloaded} overloaded workers");

        Collect("end");
        Console.WriteLine($"peak working set {Mib(Process.GetCurrentProcess().PeakWorkingSet64)} MiB");
        await host.StopAsync();
    }

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

            await Task.Delay(250);
        }
    }

    private static void Collect(string when)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        Console.WriteLine($"{when}: managed heap {GC.GetTotalMemory(false) / (1024 * 1024):N0} MiB, working set {Mib(Environment.WorkingSet)} MiB");
    }

    private static long Mib(long bytes) => bytes / (1024 * 1024);
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
