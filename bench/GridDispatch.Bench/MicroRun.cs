using System.Collections.Immutable;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using GridDispatch.Domain;
using GridDispatch.Regions;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace GridDispatch.Bench;

/// <summary>
/// The engine's hot pure functions under BenchmarkDotNet (issue 12's micro-benchmarks): the dispatch choice over a
/// grid's roster and a community's pool, the roll-up a region computes on each tick, and the Orleans serialization of
/// what crosses the wire most (a summary) and what a grid stores (its snapshot). In process (no separate build), a
/// short job; mean time and bytes allocated per operation go to <c>artifacts/bench/micro.json</c>.
/// usage: micro [filter=*]
/// </summary>
public static class MicroRun
{
    public static async Task RunAsync(string[] args)
    {
        var config = ManualConfig.CreateMinimumViable()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine("artifacts", "bench", "BenchmarkDotNet"));
        if (args.Length > 0)
        {
            config = config.AddFilter(new BenchmarkDotNet.Filters.GlobFilter(args));
        }

        var summary = BenchmarkRunner.Run<EngineMicro>(config);
        var figures = new Dictionary<string, object?>();
        foreach (var report in summary.Reports.Where(r => r.ResultStatistics is not null))
        {
            figures[report.BenchmarkCase.Descriptor.WorkloadMethod.Name] = new Dictionary<string, object?>
            {
                ["mean_ns"] = Math.Round(report.ResultStatistics!.Mean, 1),
                ["median_ns"] = Math.Round(report.ResultStatistics.Median, 1),
                ["allocated_bytes"] = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase),
            };
        }

        figures["serialized_summary_bytes"] = EngineMicro.SummaryBytes;
        figures["serialized_grid_snapshot_bytes"] = EngineMicro.SnapshotBytes;
        await BenchReport.WriteAsync("micro", figures);
    }
}

public class EngineMicro
{
    private static readonly ModePolicy Policy = new DispatchOptions().Everyday;
    private readonly RouteRequest _request = new("i-1", "0101", null, Severity.Routine, 1, "449901001001001", [], []);
    private readonly Serializer _serializer;
    private readonly List<RosterEntry> _grid;
    private readonly List<RosterEntry> _pool;
    private readonly List<UnitSummary> _children;
    private readonly UnitSummary _summary;
    private readonly GridRecord _snapshot;
    private readonly byte[] _summaryBytes;
    private readonly byte[] _snapshotBytes;

    public EngineMicro()
    {
        _serializer = new ServiceCollection()
            .AddSerializer(b => b.AddAssembly(typeof(UnitSummary).Assembly).AddAssembly(typeof(GridRecord).Assembly))
            .BuildServiceProvider().GetRequiredService<Serializer>();
        var random = new Random(7);
        RosterEntry Worker(int i, string home) => new($"w{i}", (WorkerKind)(i % 4), ["01", "04", "13"], WorkerStatus.Available,
            random.Next(0, 8), 10, home, 1);
        _grid = [.. Enumerable.Range(0, 10).Select(i => Worker(i, "449901001001001"))];
        _pool = [.. Enumerable.Range(0, 300).Select(i => Worker(i, $"4499010010010{i % 30:D2}"))];
        var kpi = new KpiSet(new KpiCounters(40, 35, 30, 1, 2, 20, 90), new KpiCounters(4, 3, 3, 0, 0, 2, 9));
        _children = [.. Enumerable.Range(0, 25).Select(g => new UnitSummary(
            $"4499010010010{g:D2}", RegionLevel.Grid, $"Grid {g}", Colour.Yellow,
            ImmutableDictionary<IncidentState, int>.Empty.Add(IncidentState.Dispatched, 2).Add(IncidentState.InProgress, 1),
            3, 1, 1, 2, 0, 3, 5, 30, kpi, g, DateTimeOffset.UnixEpoch, OperatingMode.Default,
            ImmutableDictionary<string, CampaignProgress>.Empty.Add("sweep", new CampaignProgress(1, 12, 2, 6, 2, 2, 0, 0, 0, 0, 600, 4, 1)),
            0, 0, [.. _grid.Take(3).Select(WorkerBrief.Of)]))];
        _summary = _children[0];
        _snapshot = new GridRecord();
        foreach (var e in _grid)
        {
            _snapshot.Roster.Join(e);
        }

        for (var i = 0; i < 30; i++)
        {
            _snapshot.Open[$"inc-{i}"] = new IncidentSummary($"inc-{i}", "0101", Severity.Routine, "449901001001001", IncidentState.Dispatched,
                RegionLevel.Grid, Assignee.Worker($"w{i % 10}"), false, DateTimeOffset.UnixEpoch,
                new KpiFacts(true, false, false, false, false, null, false), i);
        }

        _summaryBytes = _serializer.SerializeToArray(_summary);
        _snapshotBytes = _serializer.SerializeToArray(_snapshot);
        SummaryBytes = _summaryBytes.Length;
        SnapshotBytes = _snapshotBytes.Length;
    }

    public static int SummaryBytes { get; private set; }

    public static int SnapshotBytes { get; private set; }

    [Benchmark(Description = "dispatch choice, grid of 10")]
    public RosterEntry? PickGrid() => Roster.Pick(_grid, _request, Policy);

    [Benchmark(Description = "dispatch choice, community pool of 300")]
    public RosterEntry? PickPool() => Roster.Pick(_pool, _request, Policy);

    [Benchmark(Description = "roll-up of 25 grid summaries")]
    public UnitSummary RollUp() => UnitRollUp.Merge("449901001001", RegionLevel.Community, "Community", _children, [], 1,
        DateTimeOffset.UnixEpoch, OperatingMode.Default, 1.0, 10);

    [Benchmark(Description = "serialize a summary")]
    public byte[] SerializeSummary() => _serializer.SerializeToArray(_summary);

    [Benchmark(Description = "deserialize a summary")]
    public UnitSummary? DeserializeSummary() => _serializer.Deserialize<UnitSummary>(_summaryBytes);

    [Benchmark(Description = "serialize a grid snapshot (10 workers, 30 open)")]
    public byte[] SerializeSnapshot() => _serializer.SerializeToArray(_snapshot);

    [Benchmark(Description = "deserialize a grid snapshot")]
    public GridRecord? DeserializeSnapshot() => _serializer.Deserialize<GridRecord>(_snapshotBytes);
}
