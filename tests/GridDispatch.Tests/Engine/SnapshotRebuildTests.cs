using GridDispatch.Domain;
using GridDispatch.Regions;
using GridDispatch.Tests.Infrastructure;
using GridDispatch.Workers;
using Orleans.Core.Internal;
using Orleans.Storage;

namespace GridDispatch.Tests.Engine;

/// <summary>
/// Write-behind snapshots left by a crash (they read back "not clean") are corrected from the incidents' timelines: a
/// grid rebuilds its open-work index, a worker drops tasks that are no longer its own and tells its units its load.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SnapshotRebuildTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private IGrainStorage Storage => fixture.Storage;

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

    [Fact]
    public async Task A_worker_whose_snapshot_was_left_by_a_crash_drops_a_task_that_moved_on_and_tells_its_grid_its_load()
    {
        var city = TestCity.Create();
        var id = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var kept = await Grains.ReportAsync(Reports.Make(city.Grid));
        var gone = await Grains.ReportAsync(Reports.Make(city.Grid));
        await Grains.Incident(gone).CancelAsync(new ActorCommand("leader", "duplicate"));
        var worker = Grains.GetGrain<IWorkerGrain>(id);
        await Eventually.Get(worker.GetAsync, w => w.Load == 1, what: "the worker heard the cancel");
        await worker.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        await Task.Delay(200);

        // A crash left a snapshot from before the cancel, and the grid last heard load 2 from it.
        var row = new GrainState<WorkerRecord>();
        await Storage.ReadStateAsync("worker", worker.GetGrainId(), row);
        Assert.NotNull(row.State);
        var grid = Grains.GetGrain<IGridGrain>(city.Grid);
        var heard = (await grid.GetAsync()).Roster.Single(e => e.WorkerId == id);
        row.State.Tasks[gone.Id] = new WorkerTask(gone.Id, gone.Category, gone.Severity, TaskStatus.Offered, 1, false);
        row.State.Clean = false;
        row.State.Version = heard.Version + 2;
        await Storage.WriteStateAsync("worker", worker.GetGrainId(), row);
        await grid.WorkerChangedAsync(heard with { Load = 2, Version = heard.Version + 1 });
        await Eventually.Get(grid.GetAsync, g => g.Roster.Single(e => e.WorkerId == id).Load == 2, what: "the grid counts the stale load");

        var reconciled = await worker.GetAsync();
        Assert.Equal([kept.Id], reconciled.Tasks.Select(t => t.IncidentId));
        Assert.Equal(1, reconciled.Load);
        await Eventually.Get(grid.GetAsync, g => g.Roster.Single(e => e.WorkerId == id).Load == 1, what: "the worker told its grid its load");
    }
}
