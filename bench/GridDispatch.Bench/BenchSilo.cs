using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Bench;

/// <summary>
/// One silo as the hosts build it (durable when ConnectionStrings__GridDispatch is set, in memory otherwise), no
/// simulator, with a generated one-district city of <c>4 × 5 × gridsPerCommunity</c> grids of 3 workers loaded.
/// </summary>
public sealed class BenchSilo : IAsyncDisposable
{
    private static readonly string[] Categories = ["0101", "0103", "0401", "1301", "1601"];

    /// <summary>The <paramref name="i"/>-th routine report of a run, on one of <paramref name="grids"/>, with a reporter.</summary>
    public static IncidentReport Report(string[] grids, int i, string channel, string externalId) =>
        new(Categories[i % Categories.Length], Severity.Routine, grids[i % grids.Length], "bench", channel, externalId,
            new Reporter("r", null, null, null), null, "r");

    /// <summary>The rest of the loop after dispatch: start, resolve, verify, rate (+ archive) — 4 commands.</summary>
    public static async Task CloseAsync(IIncidentGrain incident, string worker)
    {
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "done"));
        await incident.VerifyAsync(new ActorCommand("s"));
        await incident.RateAsync(new RateCommand("r", 5));
    }

    private readonly IHost _host;

    private BenchSilo(IHost host, CallCounter calls, string[] grids, string? connectionString)
    {
        _host = host;
        Calls = calls;
        Grids = grids;
        ConnectionString = connectionString;
    }

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public string[] Grids { get; }

    /// <summary>Grain calls the silo has received, by interface and method.</summary>
    public CallCounter Calls { get; }

    public string? ConnectionString { get; }

    public static async Task<BenchSilo> StartAsync(string cityCode, int gridsPerCommunity)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GridDispatch:City:LoadOnStart"] = "false",
            ["GridDispatch:Simulation:Enabled"] = "false",
        });
        var calls = new CallCounter();
        builder.UseOrleans(silo =>
        {
            silo.UseGridDispatch(builder.Configuration);
            silo.AddIncomingGrainCallFilter(calls);
        });
        var host = builder.Build();
        await host.StartAsync();
        var spec = new CitySpec(Code: cityCode, Districts: 1, StreetsPerDistrict: 4, CommunitiesPerStreet: 5, GridsPerCommunity: gridsPerCommunity, WorkersPerGrid: 3);
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var load = await CityLoader.LoadAsync(grains, city);
        Console.WriteLine($"city: {load.Grids} grids, {load.Workers} workers loaded in {load.Elapsed.TotalSeconds:F1} s");
        return new BenchSilo(host, calls, [.. city.Grids.Select(g => g.Code)], builder.Configuration.GetConnectionString("GridDispatch"));
    }

    /// <summary>
    /// The full loop for <paramref name="incidents"/> incidents: report (accept + dispatch), start, resolve, verify,
    /// rate (+ archive) — 5 commands, 9 timeline entries. Returns incidents per second.
    /// </summary>
    public async Task<double> FullLoopAsync(int incidents, int concurrency, string run)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, incidents), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
        {
            var report = Report(Grids, i, "bench", $"{run}-{i}");
            var incident = Grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId));
            var view = (await incident.ReportAsync(report)).Incident;
            await CloseAsync(incident, view.Assignee!.Id);
        });
        return incidents / watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Intake alone (report → accept → dispatch) for <paramref name="incidents"/> incidents, each call's latency in
    /// milliseconds; the incidents are cancelled afterwards so workers do not fill up for the next run.
    /// </summary>
    public async Task<(double PerSecond, double[] LatenciesMs)> IntakeAsync(int incidents, int concurrency, string run)
    {
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var ids = new string[incidents];
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, incidents), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
        {
            var report = new IncidentReport(Categories[i % Categories.Length], Severity.Routine, Grids[i % Grids.Length], "bench", "intake", $"{run}-{i}", null, null, "r");
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            ids[i] = (await Grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId)).ReportAsync(report)).Incident.Id;
            latencies.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        });
        var rate = incidents / watch.Elapsed.TotalSeconds;
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (id, _) =>
            await Grains.GetGrain<IIncidentGrain>(id).CancelAsync(new ActorCommand("bench", "bench cleanup")));
        return (rate, [.. latencies.Order()]);
    }

    /// <summary>
    /// The incident store alone, as the engine's grains use it: <paramref name="concurrency"/> callers, each appending
    /// timelines of 2 entries then 1 (as intake and a later command do) and awaiting each commit, for
    /// <paramref name="duration"/>. Appends per second and their latencies: the floor under every command.
    /// </summary>
    public async Task<(double PerSecond, double[] LatenciesMs)> StoreAppendsAsync(int concurrency, TimeSpan duration, string run)
    {
        var store = _host.Services.GetRequiredService<IIncidentStore>();
        var at = DateTimeOffset.UtcNow;
        TimelineEntry Entry(int seq) => new(seq, at, "bench", seq == 1 ? IncidentEventKind.Reported : IncidentEventKind.Accepted,
            IncidentState.Reported, seq == 1 ? IncidentState.Reported : IncidentState.Accepted, "bench");
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var appends = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(caller => Task.Run(async () =>
        {
            for (var n = 0; watch.Elapsed < duration; n++)
            {
                var id = $"store-{run}-{caller}-{n}";
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await store.AppendAsync(id, 0, [Entry(1), Entry(2)], at.AddDays(1));     // due after the bench is over: never woken
                latencies.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                started = System.Diagnostics.Stopwatch.GetTimestamp();
                await store.AppendAsync(id, 2, [Entry(3) with { Kind = IncidentEventKind.Dispatched }], at.AddDays(1));
                latencies.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Add(ref appends, 2);
            }
        })));
        return (appends / watch.Elapsed.TotalSeconds, [.. latencies.Order()]);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
