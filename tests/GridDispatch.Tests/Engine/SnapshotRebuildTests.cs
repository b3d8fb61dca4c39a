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
        await RewriteIdleSnapshotAsync<GridRecord>("grid", grid, state => state.Clean, state =>
        {
            state.Open.Remove(open.Id);
            state.Open[cancelled.Id] = new IncidentSummary(cancelled.Id, stillOpen.Category, stillOpen.Severity, city.Grid, IncidentState.Dispatched,
                RegionLevel.Grid, stillOpen.Assignee, false, null, new KpiFacts(false, false, false, false, false, null, false), stillOpen.Version);
            state.Kpi.FoldedIds.Remove(cancelled.Id);
            state.Kpi.FoldedOrder = new Queue<string>(state.Kpi.FoldedOrder.Where(id => id != cancelled.Id));
            state.RecentlyFinished.Clear();
            state.Clean = false;
        });

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
        var grid = Grains.GetGrain<IGridGrain>(city.Grid);
        var heard = (await grid.GetAsync()).Roster.Single(e => e.WorkerId == id);
        await RewriteIdleSnapshotAsync<WorkerRecord>("worker", worker, state => state.Clean, state =>
        {
            state.Tasks[gone.Id] = new WorkerTask(gone.Id, gone.Category, gone.Severity, TaskStatus.Offered, 1, false);
            state.Clean = false;
            state.Version = heard.Version + 2;
        });
        await grid.WorkerChangedAsync(heard with { Load = 2, Version = heard.Version + 1 });
        await Eventually.Get(grid.GetAsync, g => g.Roster.Single(e => e.WorkerId == id).Load == 2, what: "the grid counts the stale load");

        var reconciled = await worker.GetAsync();
        Assert.Equal([kept.Id], reconciled.Tasks.Select(t => t.IncidentId));
        Assert.Equal(1, reconciled.Load);
        await Eventually.Get(grid.GetAsync, g => g.Roster.Single(e => e.WorkerId == id).Load == 1, what: "the worker told its grid its load");
    }

    /// <summary>
    /// Rewrites the stored snapshot of a grain the test has just deactivated as a crash would have left it. A late message
    /// (an incident's tick, a load report) can wake the grain again and store a newer snapshot between our read and our
    /// write; that write is then refused for its stale e-tag, and the rewrite starts over after deactivating it again. A
    /// deactivation stores its snapshot as clean; one read back not clean was written while the grain was still active.
    /// </summary>
    private async Task RewriteIdleSnapshotAsync<T>(string type, IAddressable grain, Func<T, bool> clean, Action<T> crash)
        where T : class, new()
    {
        for (var attempt = 1; ; attempt++)
        {
            if (attempt > 1)
            {
                await grain.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
                await Task.Delay(200 * attempt);
            }

            var row = new GrainState<T>();
            await Storage.ReadStateAsync(type, grain.GetGrainId(), row);
            Assert.NotNull(row.State);
            if (!clean(row.State))
            {
                Assert.True(attempt < 5, "a deactivation stores the snapshot as clean");
                continue;
            }

            crash(row.State);
            try
            {
                await Storage.WriteStateAsync(type, grain.GetGrainId(), row);
                return;
            }
            catch (Exception ex) when (StaleState.IsStale(ex) && attempt < 5)
            {
            }
        }
    }
}
