using GridDispatch.Domain;
using GridDispatch.Regions;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GridDispatch.Tests.Engine;

/// <summary>
/// A grid's open-work index is a write-behind snapshot: one whose last activation crashed before its roll-up tick
/// stored the index (it reads back "not clean") rebuilds it from the incidents' timelines.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GridRebuildTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private IGrainStorage Storage => (fixture.Cluster.Primary as InProcessSiloHandle ?? throw new InvalidOperationException("in-process silos only"))
        .SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GridDispatchStorage.Name);

    [Fact]
    public async Task A_grid_whose_snapshot_was_left_by_a_crash_rebuilds_its_open_work_from_the_timelines()
    {
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var open = await Grains.ReportAsync(Reports.Make(city.Grid));
        var cancelled = await Grains.ReportAsync(Reports.Make(city.Grid));
        var stillOpen = await Grains.Incident(cancelled).GetAsync();
        await Grains.Incident(cancelled).CancelAsync(new ActorCommand("leader", "duplicate"));
        var grid = Grains.GetGrain<IGridGrain>(city.Grid);
        await Eventually.Get(grid.GetAsync, g => g.OpenIncidents.Any(i => i.Id == open.Id) && g.OpenIncidents.All(i => i.Id != cancelled.Id),
            what: "the grid heard both");
        await grid.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        await Task.Delay(200);

        // What a crash leaves: a snapshot from before the first report's tick and before the cancel, marked not clean.
        var row = new GrainState<GridRecord>();
        await Storage.ReadStateAsync("grid", grid.GetGrainId(), row);
        Assert.NotNull(row.State);
        Assert.True(row.State.Clean, "a deactivation stores the snapshot as clean");
        row.State.Open.Remove(open.Id);
        row.State.Open[cancelled.Id] = new IncidentSummary(cancelled.Id, stillOpen.Category, stillOpen.Severity, city.Grid, IncidentState.Dispatched,
            RegionLevel.Grid, stillOpen.Assignee, false, null, new KpiFacts(false, false, false, false, false, null, false), stillOpen.Version);
        row.State.Kpi.FoldedIds.Remove(cancelled.Id);
        row.State.Kpi.FoldedOrder = new Queue<string>(row.State.Kpi.FoldedOrder.Where(id => id != cancelled.Id));
        row.State.RecentlyFinished.Clear();
        row.State.Clean = false;
        await Storage.WriteStateAsync("grid", grid.GetGrainId(), row);

        var rebuilt = await grid.GetAsync();
        Assert.Contains(rebuilt.OpenIncidents, i => i.Id == open.Id && i.State == IncidentState.Dispatched);
        Assert.DoesNotContain(rebuilt.OpenIncidents, i => i.Id == cancelled.Id);
        Assert.Contains(rebuilt.RecentlyFinished, i => i.Id == cancelled.Id);
    }
}
