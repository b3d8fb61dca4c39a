using System.Diagnostics;
using System.Globalization;
using GridDispatch;
using GridDispatch.City;
using GridDispatch.Domain;
using GridDispatch.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// Loop throughput on one in-process silo (embedded default: in-memory storage and reminders).
// usage: dotnet run -c Release --project bench/GridDispatch.Bench -- [incidents=2000] [concurrency=32] [runs=3]
//        dotnet run -c Release --project bench/GridDispatch.Bench -- live [reports=1000] [per-second=50]
//        dotnet run -c Release --project bench/GridDispatch.Bench -- scale [districts=10] [streets=10] [communities=20] [grids=25]
//        ConnectionStrings__GridDispatch=... dotnet run -c Release --project bench/GridDispatch.Bench -- durable [incidents=3000] [concurrency=32]
if (args is ["durable", ..])
{
    await GridDispatch.Bench.DurableRun.RunAsync(args[1..]);
    return;
}

if (args is ["live", ..])
{
    await GridDispatch.Bench.LiveLatency.RunAsync(args[1..]);
    return;
}

if (args is ["scale", ..])
{
    await GridDispatch.Bench.ScaleRun.RunAsync(args[1..]);
    return;
}

var incidents = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;

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

var spec = new CitySpec(Code: "4498", Districts: 1, StreetsPerDistrict: 4, CommunitiesPerStreet: 5, GridsPerCommunity: 10, WorkersPerGrid: 3);
var city = CityGenerator.Generate(spec, CategoryCatalog.LoadDefault(), new DifficultyScorer(Options.Create(new DifficultyOptions())));
var load = await CityLoader.LoadAsync(grains, city);
var grids = city.Grids.Select(g => g.Code).ToArray();
Console.WriteLine($"city: {load.Grids} grids, {load.Workers} workers loaded in {load.Elapsed.TotalMilliseconds:F0} ms");
Console.WriteLine($"{Environment.ProcessorCount} cores; {incidents} incidents per run, {concurrency} concurrent, {runs} runs (first is warm-up)");

var durable = builder.Configuration.GetConnectionString("GridDispatch");
Console.WriteLine(durable is null ? "storage: in memory (embedded default)" : "storage: PostgreSQL (ConnectionStrings__GridDispatch)");
var categories = new[] { "0101", "0103", "0401", "1301", "1601" };
var full = new List<double>();
var intake = new List<double>();
for (var run = 0; run <= runs; run++)
{
    // Full loop: report (accept + dispatch), start, resolve, verify, rate (+ archive): 5 commands, 9 timeline entries.
    var writesBefore = durable is null || run != 1 ? null : await GridDispatch.Bench.WriteCounter.ReadAsync(durable);
    var watch = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, incidents), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
    {
        var report = new IncidentReport(categories[i % categories.Length], Severity.Routine, grids[i % grids.Length], "bench", "bench",
            $"{run}-{i}", new Reporter("r", null, null, null), null, "r");
        var incident = grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId));
        var view = (await incident.ReportAsync(report)).Incident;
        var worker = view.Assignee!.Id;
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "done"));
        await incident.VerifyAsync(new ActorCommand("s"));
        await incident.RateAsync(new RateCommand("r", 5));
    });
    var loopRate = incidents / watch.Elapsed.TotalSeconds;
    if (writesBefore is not null)
    {
        await Task.Delay(3000); // let roll-ups flush and the event log drain, then let the statistics settle
        var after = await GridDispatch.Bench.WriteCounter.ReadAsync(durable!);
        Console.WriteLine("database rows written per incident over one full-loop run: " + string.Join(", ",
            after.Select(kv => $"{kv.Key} {(kv.Value - writesBefore.GetValueOrDefault(kv.Key)) / (double)incidents:F1}")));
    }

    // Intake alone, cancelled afterwards so workers do not fill up.
    watch.Restart();
    var ids = new string[incidents];
    await Parallel.ForEachAsync(Enumerable.Range(0, incidents), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
    {
        var report = new IncidentReport(categories[i % categories.Length], Severity.Routine, grids[i % grids.Length], "bench", "intake",
            $"{run}-{i}", null, null, "r");
        ids[i] = (await grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId)).ReportAsync(report)).Incident.Id;
    });
    var intakeRate = incidents / watch.Elapsed.TotalSeconds;
    await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (id, _) =>
        await grains.GetGrain<IIncidentGrain>(id).CancelAsync(new ActorCommand("bench", "bench cleanup")));

    Console.WriteLine($"run {run}{(run == 0 ? " (warm-up)" : "")}: full loop {loopRate,8:F0} incidents/s, intake {intakeRate,8:F0} incidents/s");
    if (run > 0)
    {
        full.Add(loopRate);
        intake.Add(intakeRate);
    }
}

static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
Console.WriteLine($"median: full loop {Median(full):F0} incidents/s ({Median(full) * 9:F0} timeline entries/s), intake {Median(intake):F0} incidents/s");
Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB");
await host.StopAsync();
