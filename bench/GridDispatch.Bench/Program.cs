using System.Globalization;

// Loop throughput on one in-process silo (embedded default: in-memory storage and reminders).
// usage: dotnet run -c Release --project bench/GridDispatch.Bench -- [incidents=2000] [concurrency=32] [runs=3]
//        dotnet run -c Release --project bench/GridDispatch.Bench -- live [clients=1000] [rates=20,200] [seconds=20] [warmup seconds=15]
//        [ConnectionStrings__GridDispatch=...] dotnet run -c Release --project bench/GridDispatch.Bench -- storm [districts=10] [streets=10] [communities=20] [grids=25] [load parallelism=512]
//        [ConnectionStrings__GridDispatch=...] dotnet run -c Release --project bench/GridDispatch.Bench -- steady [rates=25,50,...,1600] [seconds=10]
//        [ConnectionStrings__GridDispatch=...] dotnet run -c Release --project bench/GridDispatch.Bench -- surge [temporary=580000] [districts=30] [streets=30] [communities=30] [grids=2]
//        ConnectionStrings__GridDispatch=... dotnet run -c Release --project bench/GridDispatch.Bench -- failover [rate=40] [seconds=30]
//        dotnet run -c Release --project bench/GridDispatch.Bench -- micro [BenchmarkDotNet filter]
//        [ConnectionStrings__GridDispatch=...] dotnet run -c Release --project bench/GridDispatch.Bench -- register [districts=2] [streets=10] [communities=10] [grids=25] [parallelism=16]
//        ConnectionStrings__GridDispatch=... dotnet run -c Release --project bench/GridDispatch.Bench -- durable [incidents=3000] [concurrency=32]
Func<string[], Task>? scenario = args.FirstOrDefault() switch
{
    "durable" => GridDispatch.Bench.DurableRun.RunAsync,
    "steady" => GridDispatch.Bench.SteadyRun.RunAsync,
    "surge" => GridDispatch.Bench.SurgeRun.RunAsync,
    "failover" => GridDispatch.Bench.FailoverRun.RunAsync,
    "micro" => GridDispatch.Bench.MicroRun.RunAsync,
    "live" => GridDispatch.Bench.LiveLatency.RunAsync,
    "storm" or "scale" => GridDispatch.Bench.StormRun.RunAsync,
    "register" => GridDispatch.Bench.RegisterRun.RunAsync,
    _ => null,
};
if (scenario is not null)
{
    await scenario(args[1..]);
    return;
}

if (args.Length > 0 && !int.TryParse(args[0], CultureInfo.InvariantCulture, out _))
{
    Console.Error.WriteLine($"unknown scenario '{args[0]}': durable, steady, surge, failover, micro, live, storm, register, or a number of incidents (see the usage above Program.cs)");
    Environment.Exit(2);
}

var incidents = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;

await using var silo = await GridDispatch.Bench.BenchSilo.StartAsync("4498", gridsPerCommunity: 10);
Console.WriteLine($"{Environment.ProcessorCount} cores; {incidents} incidents per run, {concurrency} concurrent, {runs} runs (first is warm-up)");

var durable = silo.ConnectionString;
Console.WriteLine(durable is null ? "storage: in memory (embedded default)" : "storage: PostgreSQL (ConnectionStrings__GridDispatch)");
var full = new List<double>();
var intake = new List<double>();
for (var run = 0; run <= runs; run++)
{
    var writesBefore = durable is null || run != 1 ? null : await GridDispatch.Bench.WriteCounter.ReadAsync(durable);
    var callsBefore = silo.Calls.Snapshot();
    var loopRate = await silo.FullLoopAsync(incidents, concurrency, $"{run}");
    if (run == 1)
    {
        var calls = GridDispatch.Bench.CallCounter.Between(callsBefore, silo.Calls.Snapshot(), incidents);
        Console.WriteLine($"grain calls per full-loop incident: {calls.Sum(c => c.PerIncident):F1} ("
            + string.Join(", ", calls.Take(10).Select(c => $"{c.Call[(c.Call.LastIndexOf('.', c.Call.LastIndexOf('.') - 1) + 1)..]} {c.PerIncident:F1}")) + ")");
    }

    if (writesBefore is not null)
    {
        await Task.Delay(3000); // let roll-ups flush and the event log drain, then let the statistics settle
        var after = await GridDispatch.Bench.WriteCounter.ReadAsync(durable!);
        Console.WriteLine("database rows written per incident over one full-loop run: " + string.Join(", ",
            after.Select(kv => $"{kv.Key} {(kv.Value - writesBefore.GetValueOrDefault(kv.Key)) / (double)incidents:F1}")));
    }

    var (intakeRate, _) = await silo.IntakeAsync(incidents, concurrency, $"{run}");
    Console.WriteLine($"run {run}{(run == 0 ? " (warm-up)" : "")}: full loop {loopRate,8:F0} incidents/s, intake {intakeRate,8:F0} incidents/s");
    if (run > 0)
    {
        full.Add(loopRate);
        intake.Add(intakeRate);
    }
}

static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
Console.WriteLine($"median: full loop {Median(full):F0} incidents/s ({Median(full) * 9:F0} timeline entries/s), intake {Median(intake):F0} incidents/s");
Console.WriteLine($"peak working set: {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB");
