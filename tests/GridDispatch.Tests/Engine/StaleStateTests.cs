using GridDispatch.Domain;
using GridDispatch.Regions;
using GridDispatch.Tests.Infrastructure;
using GridDispatch.Workers;
using Orleans.Storage;

namespace GridDispatch.Tests.Engine;

/// <summary>
/// Conflicts end the activation: a grain whose stored state was written by another activation since it read it (as
/// a duplicate activation after a partition would) does not retry its write forever nor serve its stale copy.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StaleStateTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private IGrainStorage Storage => fixture.Storage;

    /// <summary>What another activation would do: read the row, change it, write it back (its version moves on).</summary>
    private async Task WriteElsewhereAsync<T>(string stateName, GrainId grain, Action<T> change) where T : new()
    {
        var row = new GrainState<T>();
        await Storage.ReadStateAsync(stateName, grain, row);
        change(row.State ?? throw new InvalidOperationException($"No {stateName} state for {grain}"));
        await Storage.WriteStateAsync(stateName, grain, row);
    }

    [Fact]
    public async Task A_worker_whose_state_was_written_elsewhere_refuses_with_a_conflict_and_reads_afresh()
    {
        var city = TestCity.Create();
        var id = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var worker = Grains.GetGrain<IWorkerGrain>(id);
        await worker.SetLocationAsync(new GeoPoint(22.5, 114.0));

        var elsewhere = new GeoPoint(23.1, 113.3);
        await WriteElsewhereAsync<WorkerRecord>("worker", worker.GetGrainId(), r => r.Location = elsewhere);

        var refused = await Assert.ThrowsAsync<DomainException>(() => worker.SetLocationAsync(new GeoPoint(22.6, 114.1)));
        Assert.Equal(DomainErrors.Conflict, refused.Code);

        // The stale activation is gone: the next call reads the copy the other one wrote, and writes on top of it.
        Assert.Equal(elsewhere, (await worker.GetAsync()).Location);
        var moved = await worker.SetLocationAsync(new GeoPoint(22.6, 114.1));
        Assert.Equal(new GeoPoint(22.6, 114.1), moved.Location);
    }

    [Fact]
    public async Task A_grid_whose_write_behind_flush_meets_a_newer_version_ends_and_reads_afresh()
    {
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var grid = Grains.GetGrain<IGridGrain>(city.Grid);
        var before = await grid.GetAsync();

        await WriteElsewhereAsync<GridRecord>("grid", grid.GetGrainId(), r => r.Definition = r.Definition! with { Name = "renamed elsewhere" });

        // A report changes the grid's open-work index, stored at its next roll-up tick: that write meets the newer version.
        await Grains.ReportAsync(Reports.Make(city.Grid));
        var after = await Eventually.Get(grid.GetAsync, g => g.Definition.Name == "renamed elsewhere", TimeSpan.FromSeconds(10),
            "the grid read its state afresh");
        Assert.NotEqual(before.Definition.Name, after.Definition.Name);
    }

    [Fact]
    public async Task A_worker_whose_write_behind_flush_meets_a_newer_version_ends_instead_of_retrying_forever()
    {
        var city = TestCity.Create();
        var id = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var worker = Grains.GetGrain<IWorkerGrain>(id);
        await Grains.ReportAsync(Reports.Make(city.Grid));      // the first change after a clean state is stored at once

        var elsewhere = new GeoPoint(23.1, 113.3);
        await WriteElsewhereAsync<WorkerRecord>("worker", worker.GetGrainId(), r => r.Location = elsewhere);

        // The next change is stored write-behind, by the flush timer: its write meets the newer version.
        await Grains.ReportAsync(Reports.Make(city.Grid));
        await Eventually.Get(worker.GetAsync, w => w.Location == elsewhere, TimeSpan.FromSeconds(15), "the worker read its state afresh");
    }
}
