using Orleans.Core.Internal;
using GridDispatch.Domain;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Engine;

/// <summary>
/// Deadlines are data: an incident records its next due time with every append, and its shard's sweeper wakes it
/// when that time passes — also when it is not active, which no per-incident reminder stands behind any more.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DeadlineSweepTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task An_incident_that_is_not_active_is_woken_by_its_shards_sweeper_when_its_deadline_passes()
    {
        var city = TestCity.Create();
        var first = city.AddWorker("first", [city.Grid]);
        var second = city.AddWorker("second", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Routine));
        var holder = view.Assignee!.Id;
        var window = view.Deadlines[DeadlineKind.TaskAcceptance] - view.UpdatedAt;
        Assert.True(window >= TimeSpan.FromMinutes(10), $"the acknowledgement window is {window}: its timer would fire during the test");

        // The incident leaves memory; its acknowledgement deadline passes (on domain time: its timer, on real time, is gone
        // with it and was half an hour away). Only the sweeper can notice now.
        await Grains.GetGrain<IIncidentGrain>(view.Id).AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        ClusterFixture.Time.Advance(window + TimeSpan.FromMinutes(1));
        await Grains.GetGrain<IDeadlineSweepGrain>(DeadlineShards.Of(view.Id)).SweepAsync();

        var after = await Eventually.Get(Grains.Incident(view).GetAsync, v => v.Timeline.Any(e => e.Kind == IncidentEventKind.AcceptanceTimedOut),
            TimeSpan.FromSeconds(10), "the acknowledgement deadline fired");
        Assert.Equal(holder == first ? second : first, after.Assignee!.Id);
        Assert.Equal(IncidentState.Dispatched, after.State);

        // A second sweep finds the new deadline not yet due: nothing happens twice.
        await Grains.GetGrain<IDeadlineSweepGrain>(DeadlineShards.Of(view.Id)).SweepAsync();
        Assert.Equal(after.Version, (await Grains.Incident(view).GetAsync()).Version);
    }

    [Fact]
    public async Task A_due_time_is_woken_once_although_every_sweep_looks_back_over_the_overlap()
    {
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        await Grains.Incident(view).CancelAsync(new ActorCommand("dispatcher", "duplicate"));
        var due = (await fixture.IncidentStore.ReadAsync(view.Id)).DueAt!.Value;    // telling again, in case a tell was lost
        var sweeper = Grains.GetGrain<IDeadlineSweepGrain>(DeadlineShards.Of(view.Id));
        var before = CallCounter.Count("GridDispatch.IIncidentGrain", "WakeAsync", view.Id);

        // The due time passes; each sweep reads back a minute before its mark (a due time committed just after a sweep
        // went by is still found), so three sweeps in that minute all see it.
        ClusterFixture.Time.Advance(due - ClusterFixture.Time.GetUtcNow() + TimeSpan.FromSeconds(1));
        await sweeper.SweepAsync();
        await sweeper.SweepAsync();
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(20));
        await sweeper.SweepAsync();

        Assert.Equal(1, CallCounter.Count("GridDispatch.IIncidentGrain", "WakeAsync", view.Id) - before);
    }
}
