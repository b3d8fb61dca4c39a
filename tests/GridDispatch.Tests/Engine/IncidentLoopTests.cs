using GridDispatch.Incidents;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Engine;

[Collection(ClusterCollection.Name)]
public sealed class IncidentLoopTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task Incident_runs_the_whole_closed_loop_and_every_step_lands_in_the_timeline()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("alice", [city.Grid]);
        await city.LoadAsync(Grains);

        var reported = await Grains.ReportAsync(Reports.Make(city.Grid));
        Assert.Equal(IncidentState.Dispatched, reported.State);
        Assert.Equal(Assignee.Worker(worker), reported.Assignee);
        Assert.Equal(RegionLevel.Grid, reported.Level);
        Assert.True(reported.Deadlines.ContainsKey(DeadlineKind.Handle));
        Assert.True(reported.Deadlines.ContainsKey(DeadlineKind.TaskAcceptance));

        var incident = Grains.Incident(reported);
        await incident.AcknowledgeAsync(new ActorCommand(worker));
        Assert.Equal(1, (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Load);
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "rubbish cleared, photo attached"));
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Load);
        await incident.VerifyAsync(new ActorCommand("supervisor-1", "checked on site"));
        var closed = await incident.RateAsync(new RateCommand("resident-1", 5, "quick and clean"));

        Assert.Equal(IncidentState.Closed, closed.State);
        Assert.Equal(5, closed.Rating);
        Assert.Empty(closed.Deadlines);
        Assert.Equal(
            [IncidentEventKind.Reported, IncidentEventKind.Accepted, IncidentEventKind.Dispatched, IncidentEventKind.TaskAcknowledged,
             IncidentEventKind.WorkStarted, IncidentEventKind.Resolved, IncidentEventKind.Verified, IncidentEventKind.Rated, IncidentEventKind.Closed],
            closed.Kinds());
        AssertTimelineIsContinuous(closed);
        Assert.Equal("supervisor-1", closed.Timeline.Single(e => e.Kind == IncidentEventKind.Verified).Actor);
        Assert.Equal("rubbish cleared, photo attached", closed.Timeline.Single(e => e.Kind == IncidentEventKind.Resolved).Reason);

        var kpi = (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Kpi.All;
        Assert.Equal((1, 1, 1, 5), (kpi.Closed, kpi.ClosedOnTime, kpi.Rated, kpi.RatingSum));
        await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.OpenIncidents.IsEmpty && g.Summary.Kpi.All.Closed == 1);
    }

    [Fact]
    public async Task Rework_sends_a_failed_result_back_to_the_same_worker_and_is_counted()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("bob", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var incident = Grains.Incident(view);
        await incident.StartAsync(new ActorCommand(worker));
        await incident.ResolveAsync(new ActorCommand(worker, "done"));

        var reworked = await incident.ReworkAsync(new ActorCommand("supervisor-1", "rubbish still there on inspection"));
        Assert.Equal(IncidentState.InProgress, reworked.State);
        Assert.Equal(1, reworked.ReworkCount);
        Assert.Equal(Assignee.Worker(worker), reworked.Assignee);
        Assert.Equal(1, (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Load);

        await incident.ResolveAsync(new ActorCommand(worker, "cleared again"));
        await incident.VerifyAsync(new ActorCommand("supervisor-1"));
        var closed = await incident.CloseAsync(new ActorCommand("dispatcher-1", "reporter anonymous: archived without rating"));
        Assert.Equal(IncidentState.Closed, closed.State);
        Assert.Null(closed.Rating);
        Assert.Equal(IncidentEventKind.ReturnedForRework, closed.Timeline.Single(e => e.From == IncidentState.Resolved && e.To == IncidentState.InProgress).Kind);

        var kpi = (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Kpi.All;
        Assert.Equal(1, kpi.Reworked);
    }

    [Fact]
    public async Task Cancel_and_defer_need_a_reason_and_resume_sends_the_incident_back_to_dispatch()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("carol", [city.Grid]);
        await city.LoadAsync(Grains);
        var incident = Grains.Incident(await Grains.ReportAsync(Reports.Make(city.Grid)));

        var noReason = await Assert.ThrowsAsync<DomainException>(() => incident.DeferAsync(new DeferCommand("leader-1", "")));
        Assert.Equal(("invalid-input", "reason"), (noReason.Code, noReason.Field));

        var deferred = await incident.DeferAsync(new DeferCommand("leader-1", "owner abroad until next month", ClusterFixture.Time.GetUtcNow().AddDays(30)));
        Assert.Equal(IncidentState.Deferred, deferred.State);
        Assert.Null(deferred.Assignee);
        Assert.False(deferred.Deadlines.ContainsKey(DeadlineKind.Handle));
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Load);

        var resumed = await incident.ResumeAsync(new ActorCommand("leader-1", "owner back"));
        Assert.Equal(IncidentState.Dispatched, resumed.State);
        Assert.True(resumed.Deadlines.ContainsKey(DeadlineKind.Handle));

        var cancelled = await incident.CancelAsync(new ActorCommand("leader-1", "duplicate of another case"));
        Assert.Equal(IncidentState.Cancelled, cancelled.State);
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Load);
        AssertTimelineIsContinuous(cancelled);
    }

    [Fact]
    public async Task Worker_steps_are_refused_to_anyone_but_the_assigned_worker_and_change_nothing()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("dave", [city.Grid]);
        var other = city.AddWorker("erin", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        var assigned = view.Assignee!.Id;
        var intruder = assigned == worker ? other : worker;

        var refused = await Assert.ThrowsAsync<DomainException>(() => Grains.Incident(view).StartAsync(new ActorCommand(intruder)));
        Assert.Equal(DomainErrors.NotAllowed, refused.Code);
        var after = await Grains.Incident(view).GetAsync();
        Assert.Equal((view.State, view.Version), (after.State, after.Version));
    }

    /// <summary>Commands by the event they would cause; used to try every command in every state.</summary>
    private static readonly (IncidentEventKind Kind, Func<IIncidentGrain, string, Task> Run)[] Commands =
    [
        (IncidentEventKind.Accepted, (g, a) => g.AcceptAsync(new ActorCommand(a))),
        (IncidentEventKind.Dispatched, (g, a) => g.AssignAsync(new AssignCommand("commander-1", a))),
        (IncidentEventKind.TaskAcknowledged, (g, a) => g.AcknowledgeAsync(new ActorCommand(a))),
        (IncidentEventKind.TaskDeclined, (g, a) => g.DeclineAsync(new ActorCommand(a, "busy"))),
        (IncidentEventKind.WorkStarted, (g, a) => g.StartAsync(new ActorCommand(a))),
        (IncidentEventKind.Resolved, (g, a) => g.ResolveAsync(new ActorCommand(a, "done"))),
        (IncidentEventKind.HandedBack, (g, a) => g.HandBackAsync(new ActorCommand(a, "outside my powers"))),
        (IncidentEventKind.Verified, (g, a) => g.VerifyAsync(new ActorCommand("supervisor-1"))),
        (IncidentEventKind.ReturnedForRework, (g, a) => g.ReworkAsync(new ActorCommand("supervisor-1", "not done"))),
        (IncidentEventKind.Rated, (g, a) => g.RateAsync(new RateCommand("resident-1", 4))),
        (IncidentEventKind.Closed, (g, a) => g.CloseAsync(new ActorCommand("dispatcher-1"))),
        (IncidentEventKind.Cancelled, (g, a) => g.CancelAsync(new ActorCommand("dispatcher-1", "duplicate"))),
        (IncidentEventKind.Deferred, (g, a) => g.DeferAsync(new DeferCommand("leader-1", "waiting for owner"))),
        (IncidentEventKind.Resumed, (g, a) => g.ResumeAsync(new ActorCommand("leader-1"))),
        (IncidentEventKind.Escalated, (g, a) => g.EscalateAsync(new ActorCommand("leader-1", "outside the grid's powers"))),
    ];

    [Fact]
    public async Task Every_illegal_transition_is_refused_with_a_clear_error_and_changes_nothing()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("frank", [city.Grid], capacity: 100);
        await city.LoadAsync(Grains);

        // Accepted: a category with no owning department, in a grid whose only worker does not handle it, waits at city level.
        var queuedCity = TestCity.Create();
        await queuedCity.LoadAsync(Grains);
        var accepted = await Grains.ReportAsync(Reports.Make(queuedCity.Grid, category: "0601"));

        async Task<IncidentView> Drive(Func<IIncidentGrain, Task> steps)
        {
            var view = await Grains.ReportAsync(Reports.Make(city.Grid));
            await steps(Grains.Incident(view));
            return await Grains.Incident(view).GetAsync();
        }

        var states = new List<IncidentView>
        {
            accepted,
            await Drive(_ => Task.CompletedTask),
            await Drive(g => g.StartAsync(new ActorCommand(worker))),
            await Drive(async g => { await g.StartAsync(new ActorCommand(worker)); await g.ResolveAsync(new ActorCommand(worker)); }),
            await Drive(async g => { await g.StartAsync(new ActorCommand(worker)); await g.ResolveAsync(new ActorCommand(worker)); await g.VerifyAsync(new ActorCommand("s")); }),
            await Drive(async g => { await g.StartAsync(new ActorCommand(worker)); await g.ResolveAsync(new ActorCommand(worker)); await g.VerifyAsync(new ActorCommand("s")); await g.CloseAsync(new ActorCommand("d")); }),
            await Drive(g => g.CancelAsync(new ActorCommand("d", "duplicate"))),
            await Drive(g => g.DeferAsync(new DeferCommand("d", "owner away"))),
        };
        Assert.Equal(
            [IncidentState.Accepted, IncidentState.Dispatched, IncidentState.InProgress, IncidentState.Resolved, IncidentState.Verified,
             IncidentState.Closed, IncidentState.Cancelled, IncidentState.Deferred],
            states.Select(s => s.State));

        // A queue or worker change arms a tell deadline (1 s here); when it passes, an open incident records its next
        // due time as a new entry. Each state is read again once that is over, so only the refused commands could move it.
        states = [.. await Task.WhenAll(states.Select(s => Eventually.Get(() => Grains.Incident(s).GetAsync(),
            v => !v.Deadlines.ContainsKey(DeadlineKind.Tell), TimeSpan.FromSeconds(30), $"{s.State} incident's tells heard")))];
        Assert.Equal([IncidentState.Accepted, IncidentState.Dispatched, IncidentState.InProgress, IncidentState.Resolved, IncidentState.Verified,
             IncidentState.Closed, IncidentState.Cancelled, IncidentState.Deferred], states.Select(s => s.State));

        var refusals = 0;
        foreach (var before in states)
        {
            foreach (var (kind, run) in Commands)
            {
                var legal = IncidentRules.IsAllowed(kind, before.State) && !(kind == IncidentEventKind.Escalated && before.Level == RegionLevel.City);
                if (legal)
                {
                    continue;
                }

                var error = await Assert.ThrowsAsync<DomainException>(() => run(Grains.Incident(before), before.Assignee?.Id ?? worker));
                Assert.True(error.Code == DomainErrors.IllegalTransition, $"{kind} in {before.State}: {error.Code} {error.Message}");
                var after = await Grains.Incident(before).GetAsync();
                Assert.Equal((before.State, before.Version), (after.State, after.Version));
                refusals++;
            }
        }

        Assert.True(refusals >= 80, $"only {refusals} refusals tried");
    }

    [Fact]
    public async Task Reporting_the_same_source_and_external_id_always_yields_one_incident()
    {
        var city = TestCity.Create();
        city.AddWorker("gina", [city.Grid]);
        await city.LoadAsync(Grains);
        var report = Reports.Make(city.Grid, externalId: "12345-" + Guid.NewGuid().ToString("N"), source: "hotline");
        var grain = Grains.GetGrain<IIncidentGrain>(IncidentIds.For(report.Source, report.ExternalId));

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => grain.ReportAsync(report)));

        Assert.Single(results, r => r.Created);
        Assert.All(results, r => Assert.True(r.SameRequest));
        Assert.Single(results.Select(r => r.Incident.Id).Distinct());
        var view = await grain.GetAsync();
        Assert.Single(view.Timeline, e => e.Kind == IncidentEventKind.Reported);
        Assert.Single(view.Timeline, e => e.Kind == IncidentEventKind.Dispatched);

        var different = await grain.ReportAsync(report with { Description = "something else" });
        Assert.False(different.Created);
        Assert.False(different.SameRequest);
        Assert.Equal(view.Version, different.Incident.Version);
    }

    [Theory]
    [InlineData("9999", "449901001001001", "x", "category")]
    [InlineData("0101", "44990100100100", "x", "gridCode")]
    [InlineData("0101", "", "", "description")]
    public async Task Bad_reports_are_refused_naming_the_field_and_nothing_is_stored(string category, string grid, string description, string field)
    {
        var city = TestCity.Create();
        await city.LoadAsync(Grains);
        var report = Reports.Make(grid.Length == 0 ? city.Grid : grid, category) with { Description = description };
        var id = IncidentIds.For(report.Source, report.ExternalId);

        var error = await Assert.ThrowsAsync<DomainException>(() => Grains.GetGrain<IIncidentGrain>(id).ReportAsync(report));

        Assert.Equal((DomainErrors.InvalidInput, field), (error.Code, error.Field));
        var missing = await Assert.ThrowsAsync<DomainException>(() => Grains.GetGrain<IIncidentGrain>(id).GetAsync());
        Assert.Equal(DomainErrors.NotFound, missing.Code);
    }

    [Fact]
    public async Task A_report_for_a_grid_that_does_not_exist_is_refused()
    {
        var report = Reports.Make("000000000000001");
        var error = await Assert.ThrowsAsync<DomainException>(() => Grains.GetGrain<IIncidentGrain>(IncidentIds.New()).ReportAsync(report));
        Assert.Equal(("gridCode", DomainErrors.InvalidInput), (error.Field, error.Code));
    }

    internal static void AssertTimelineIsContinuous(IncidentView view)
    {
        Assert.Equal(Enumerable.Range(1, view.Timeline.Length), view.Timeline.Select(e => e.Seq));
        for (var i = 1; i < view.Timeline.Length; i++)
        {
            Assert.Equal(view.Timeline[i - 1].To, view.Timeline[i].From);
            Assert.True(view.Timeline[i].At >= view.Timeline[i - 1].At);
        }

        Assert.Equal(view.State, view.Timeline[^1].To);
        Assert.All(view.Timeline, e => Assert.False(string.IsNullOrEmpty(e.Actor)));
    }
}
