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

    private readonly IHost _host;

    private BenchSilo(IHost host, string[] grids, string? connectionString)
    {
        _host = host;
        Grids = grids;
        ConnectionString = connectionString;
    }

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public string[] Grids { get; }

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
        builder.UseOrleans(silo => silo.UseGridDispatch(builder.Configuration));
        var host = builder.Build();
        await host.StartAsync();
        var spec = new CitySpec(Code: cityCode, Districts: 1, StreetsPerDistrict: 4, CommunitiesPerStreet: 5, GridsPerCommunity: gridsPerCommunity, WorkersPerGrid: 3);
        var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var load = await CityLoader.LoadAsync(grains, city);
        Console.WriteLine($"city: {load.Grids} grids, {load.Workers} workers loaded in {load.Elapsed.TotalSeconds:F1} s");
        return new BenchSilo(host, [.. city.Grids.Select(g => g.Code)], builder.Configuration.GetConnectionString("GridDispatch"));
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
            var report = new IncidentReport(Categories[i % Categories.Length], Severity.Routine, Grids[i % Grids.Length], "bench", "bench",
                $"{run}-{i}", new Reporter("r", null, null, null), null, "r");
            var incident = Grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId));
            var view = (await incident.ReportAsync(report)).Incident;
            var worker = view.Assignee!.Id;
            await incident.StartAsync(new ActorCommand(worker));
            await incident.ResolveAsync(new ActorCommand(worker, "done"));
            await incident.VerifyAsync(new ActorCommand("s"));
            await incident.RateAsync(new RateCommand("r", 5));
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

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
