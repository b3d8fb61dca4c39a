using GridDispatch.Domain;
using GridDispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;

namespace GridDispatch.Tests.Engine;

/// <summary>
/// Commit before telling, and tell until heard: a worker hears of an offer only once the dispatch is stored; news
/// that must not be lost (a task taken away, a finished incident) is told again until heard, also when the incident's
/// activation ended before it could tell (as a crash would end it).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class OutboxTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_worker_is_offered_a_task_only_once_its_dispatch_is_stored()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("only", [city.Grid]);
        await city.LoadAsync(Grains);
        var seen = new List<IncidentEventKind>();
        using var _ = CallHooks.Before(nameof(IWorkerGrain.OfferAsync), worker, async call =>
        {
            var offer = (WorkerTaskUpdate)call.Request.GetArgument(0)!;
            var store = call.TargetContext.ActivationServices.GetRequiredService<IIncidentStore>();
            var stored = await store.ReadAsync(offer.Incident.Id);
            lock (seen)
            {
                seen.AddRange(stored.Select(e => e.Kind));
            }
        });

        var view = await Grains.ReportAsync(Reports.Make(city.Grid));

        Assert.Equal(worker, view.Assignee!.Id);
        Assert.Equal([IncidentEventKind.Reported, IncidentEventKind.Accepted, IncidentEventKind.Dispatched], seen);
        Assert.Contains((await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Tasks, t => t.IncidentId == view.Id);
    }

    [Fact]
    public async Task A_worker_who_refuses_the_stored_offer_has_declined_it_and_the_next_one_is_offered()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid]);
        await city.LoadAsync(Grains);

        // "a" sorts first and its grid thinks it has room, but the worker itself says no (it filled up since the grid heard).
        using var _ = CallHooks.Answer(nameof(IWorkerGrain.OfferAsync), a, false);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));

        Assert.Equal(b, view.Assignee!.Id);
        Assert.Equal(
            [IncidentEventKind.Reported, IncidentEventKind.Accepted, IncidentEventKind.Dispatched, IncidentEventKind.TaskDeclined, IncidentEventKind.Dispatched],
            view.Timeline.Select(e => e.Kind));
        Assert.Contains((await Grains.GetGrain<IWorkerGrain>(b).GetAsync()).Tasks, t => t.IncidentId == view.Id);
    }

    [Fact]
    public async Task A_former_worker_who_cannot_be_reached_is_told_the_task_is_gone_once_it_can()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var first = view.Assignee!.Id;
        var other = first == a ? b : a;

        var unreachable = true;
        var refused = 0;
        using (CallHooks.Before(nameof(IWorkerGrain.TrackAsync), first, _ =>
               {
                   if (Volatile.Read(ref unreachable))
                   {
                       Interlocked.Increment(ref refused);
                       throw new TimeoutException("test: the worker's silo does not answer");
                   }

                   return Task.CompletedTask;
               }))
        {
            // Declined, so dispatched to the other: the former worker must hear it lost the task, but cannot.
            var moved = await Grains.Incident(view).DeclineAsync(new ActorCommand(first, "not mine"));
            Assert.Equal(other, moved.Assignee!.Id);
            Assert.True(refused > 0);
            Assert.Contains((await Grains.GetGrain<IWorkerGrain>(first).GetAsync()).Tasks, t => t.IncidentId == view.Id);

            Volatile.Write(ref unreachable, false);
            var former = await Eventually.Get(() => Grains.GetGrain<IWorkerGrain>(first).GetAsync(),
                w => w.Tasks.All(t => t.IncidentId != view.Id), TimeSpan.FromSeconds(15), "the former worker heard the task was removed");
            Assert.Equal(0, former.Load);
        }

        var after = await Grains.Incident(view).GetAsync();
        Assert.Equal(other, after.Assignee!.Id);
        // Heard while the activation lasted: the tell's retry left no trace in the timeline.
        Assert.DoesNotContain(after.Timeline, e => e is { Kind: IncidentEventKind.Rescheduled, Deadline: DeadlineKind.Tell });
    }

    [Fact]
    public async Task A_close_the_grid_did_not_hear_before_the_activation_ended_is_told_by_the_next_one()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var incident = Grains.Incident(view);
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "done"));
        await incident.VerifyAsync(new ActorCommand("supervisor"));
        await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.OpenIncidents.Any(i => i.Id == view.Id && i.State == IncidentState.Verified),
            what: "the grid lists the verified incident");

        var gridDeaf = true;
        IncidentView closed;
        using (CallHooks.Before(nameof(IGridGrain.IncidentChangedAsync), city.Grid, call =>
               Volatile.Read(ref gridDeaf) && ((IncidentSummary)call.Request.GetArgument(0)!).Id == view.Id
                   ? throw new TimeoutException("test: the grid's silo does not answer")
                   : Task.CompletedTask))
        {
            closed = await incident.CloseAsync(new ActorCommand("supervisor"));
            Assert.Equal(IncidentState.Closed, closed.State);

            // The activation ends with its outbox in memory, as a crash would end it; then the grid can be reached again.
            await incident.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
            await Task.Delay(200);
            Assert.Contains((await Grains.GetGrain<IGridGrain>(city.Grid).GetAsync()).OpenIncidents, i => i.Id == view.Id);
            Volatile.Write(ref gridDeaf, false);

            // Nothing calls the incident: the due time its close stored wakes it, and it tells the grid again.
            var grid = await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.OpenIncidents.All(i => i.Id != view.Id),
                TimeSpan.FromSeconds(20), "the grid no longer lists the closed incident");
            Assert.Contains(grid.RecentlyFinished, i => i.Id == view.Id);
        }

        // Closed and heard: no entry was added for the telling.
        Assert.Equal(closed.Version, (await incident.GetAsync()).Version);
    }

    [Fact]
    public async Task An_incident_woken_at_the_due_time_of_tells_it_has_heard_tells_nobody_again()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var incident = Grains.Incident(view);
        var cancelled = await incident.CancelAsync(new ActorCommand("dispatcher", "duplicate"));

        // Telling the worker it lost the task and the grid the incident ended must not be lost, so the cancel stored a
        // due time for telling again; both were heard at once, so when the sweeper wakes the incident then, it is a no-op.
        var due = (await fixture.IncidentStore.ReadAsync(view.Id)).DueAt;
        Assert.NotNull(due);
        var (gridTells, workerTells) = (CallCounter.Count("GridDispatch.IGridGrain", "IncidentChangedAsync", city.Grid),
            CallCounter.Count("GridDispatch.IWorkerGrain", "TrackAsync", worker));
        Assert.True(gridTells > 0 && workerTells > 0, "the counters see the cancel's tells");

        await incident.WakeAsync(due.Value);

        Assert.Equal(gridTells, CallCounter.Count("GridDispatch.IGridGrain", "IncidentChangedAsync", city.Grid));
        Assert.Equal(workerTells, CallCounter.Count("GridDispatch.IWorkerGrain", "TrackAsync", worker));
        Assert.Equal(cancelled.Version, (await incident.GetAsync()).Version);
    }

    [Fact]
    public async Task An_incident_that_tells_again_after_reactivation_records_no_new_entry_when_its_stored_due_time_is_still_right()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var incident = Grains.Incident(view);
        var stored = await fixture.IncidentStore.ReadAsync(view.Id);
        Assert.Equal(view.Deadlines[DeadlineKind.TaskAcceptance], stored.DueAt!.Value, TimeSpan.FromMilliseconds(1));

        // Activated again soon after its last entry, the incident tells everyone its timeline names (a crash may have
        // lost those tells). Once heard, its next deadline is the one its last append stored, read back at activation:
        // nothing to record.
        await incident.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        await Task.Delay(200);
        var tells = CallCounter.Count("GridDispatch.IGridGrain", "IncidentChangedAsync", city.Grid);
        await incident.GetAsync();
        await Eventually.Get(async () => CallCounter.Count("GridDispatch.IGridGrain", "IncidentChangedAsync", city.Grid), n => n > tells,
            what: "the reactivated incident told its grid again");
        await Task.Delay(300);

        var after = await incident.GetAsync();
        Assert.Equal(view.Version, after.Version);
        Assert.DoesNotContain(after.Timeline, e => e.Kind == IncidentEventKind.Rescheduled);
    }

    [Fact]
    public async Task A_finished_incident_keeps_telling_a_worker_who_cannot_be_reached_until_it_is_heard()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var unreachable = true;
        var tries = 0;
        using (CallHooks.Before(nameof(IWorkerGrain.TrackAsync), worker, _ =>
               {
                   Interlocked.Increment(ref tries);
                   return Volatile.Read(ref unreachable) ? throw new TimeoutException("test: the worker's silo does not answer") : Task.CompletedTask;
               }))
        {
            await Grains.Incident(view).CancelAsync(new ActorCommand("leader", "duplicate"));
            await Eventually.Get(() => Task.FromResult(Volatile.Read(ref tries)), n => n >= 3, TimeSpan.FromSeconds(15), "told, and tried again twice");
            Volatile.Write(ref unreachable, false);
            await Eventually.Get(() => Grains.GetGrain<IWorkerGrain>(worker).GetAsync(), w => w.Tasks.All(t => t.IncidentId != view.Id),
                TimeSpan.FromSeconds(20), "the worker heard the task is gone");
        }
    }

    [Fact]
    public async Task A_grid_that_does_not_answer_a_close_is_told_again()
    {
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var grid = Grains.GetGrain<IGridGrain>(city.Grid);
        await Eventually.Get(grid.GetAsync, g => g.OpenIncidents.Any(i => i.Id == view.Id), what: "the grid lists the incident");
        var deaf = true;
        using (CallHooks.Before(nameof(IGridGrain.IncidentChangedAsync), city.Grid, call =>
               Volatile.Read(ref deaf) && ((IncidentSummary)call.Request.GetArgument(0)!).Id == view.Id
                   ? throw new TimeoutException("test: the grid's silo does not answer")
                   : Task.CompletedTask))
        {
            await Grains.Incident(view).CancelAsync(new ActorCommand("leader", "duplicate"));
            Assert.Contains((await grid.GetAsync()).OpenIncidents, i => i.Id == view.Id);
            Volatile.Write(ref deaf, false);
            await Eventually.Get(grid.GetAsync, g => g.OpenIncidents.All(i => i.Id != view.Id), TimeSpan.FromSeconds(20),
                "the grid heard the cancel on a retry");
        }
    }

    [Fact]
    public async Task A_tell_retried_and_heard_leaves_no_entry_behind_for_later_activations()
    {
        var city = TestCity.Create();
        city.AddWorker("a", [city.Grid]);
        city.AddWorker("b", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var first = view.Assignee!.Id;
        var unreachable = true;
        var tries = 0;
        var incident = Grains.Incident(view);
        using (CallHooks.Before(nameof(IWorkerGrain.TrackAsync), first, _ =>
               {
                   Interlocked.Increment(ref tries);
                   return Volatile.Read(ref unreachable) ? throw new TimeoutException("test") : Task.CompletedTask;
               }))
        {
            await incident.DeclineAsync(new ActorCommand(first, "not mine"));
            await Eventually.Get(() => Task.FromResult(Volatile.Read(ref tries)), n => n >= 3, TimeSpan.FromSeconds(15), "tried again twice");
            Volatile.Write(ref unreachable, false);
            await Eventually.Get(() => Grains.GetGrain<IWorkerGrain>(first).GetAsync(), w => w.Tasks.All(t => t.IncidentId != view.Id),
                TimeSpan.FromSeconds(20), "the former worker heard");
        }

        // Two more activations: they may record the next due time once, but not an entry each.
        async Task<long> Reactivated()
        {
            await incident.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
            await Task.Delay(300);
            await incident.GetAsync();
            await Task.Delay(1500);     // its tell timer (due at once) has run
            return (await incident.GetAsync()).Version;
        }

        var once = await Reactivated();
        Assert.Equal(once, await Reactivated());
    }
}
