using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Engine;

[Collection(ClusterCollection.Name)]
public sealed class RollupAndKpiTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task Grid_colours_and_counts_roll_up_to_every_region_level()
    {
        var city = TestCity.Create(communities: 2, gridsPerCommunity: 2);
        var yellowWorker = city.AddWorker("w1", [city.Grids[0]]);
        var redWorker = city.AddWorker("w2", [city.Grids[2]]);
        city.AddWorker("w3", [city.Grids[3]], capacity: 7);
        await city.LoadAsync(Grains);

        var routine = await Grains.ReportAsync(Reports.Make(city.Grids[0]));
        var critical = await Grains.ReportAsync(Reports.Make(city.Grids[2], severity: Severity.Critical));
        await Grains.Incident(critical).AcknowledgeAsync(new ActorCommand(redWorker));

        var grid0 = await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grids[0]).GetAsync(), g => g.Summary.Colour == Colour.Yellow);
        Assert.Equal(1, grid0.Summary.OpenIncidents);
        // Each grid pushes on its own timer: wait until both grids of community 2 have reported.
        var community = await Eventually.Get(() => Grains.GetGrain<ICommunityGrain>(city.Communities[1]).GetAsync(),
            c => c.Summary is { Red: 1, Green: 1 }, what: "community 2: one red grid, one green");
        Assert.Equal(Colour.Red, community.Summary.Colour);
        Assert.Equal((0, 1, 1), (community.Summary.Yellow, community.Summary.Red, community.Summary.Green));

        var top = await Eventually.Get(() => Grains.GetGrain<ICityGrain>(city.Code).GetAsync(),
            c => c.Summary is { Red: 1, Yellow: 1, Green: 2, Load: 4, Workers: 3 }, what: "city roll-up");
        Assert.Equal(Colour.Red, top.Summary.Colour);
        Assert.Equal(2, top.Summary.OpenIncidents);
        Assert.Equal(2, top.Summary.OpenByState[IncidentState.Dispatched]);
        Assert.Equal((3, 27), (top.Summary.Workers, top.Summary.Capacity));
        var district = Assert.Single(top.Children);
        Assert.Equal(Colour.Red, district.Colour);

        foreach (var (view, worker) in new[] { (routine, yellowWorker), (critical, redWorker) })
        {
            var g = Grains.Incident(view);
            await g.StartAsync(new ActorCommand(worker));
            await g.ResolveAsync(new ActorCommand(worker, "done"));
            await g.VerifyAsync(new ActorCommand("supervisor"));
            await g.CloseAsync(new ActorCommand("supervisor"));
        }

        var calm = await Eventually.Get(() => Grains.GetGrain<ICityGrain>(city.Code).GetAsync(),
            c => c.Summary is { Green: 4, OpenIncidents: 0, Load: 0 } && c.Summary.Kpi.All.Closed == 2, what: "city back to green");
        Assert.Equal(Colour.Green, calm.Summary.Colour);
        Assert.Equal(1, calm.Summary.Kpi.Urgent.Closed);
    }

    [Fact]
    public async Task A_busy_worker_reports_its_load_a_few_times_a_second_not_once_per_change_and_its_units_end_with_the_newest()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid], capacity: 1000);
        await city.LoadAsync(Grains);
        var before = (Grid: CallCounter.Count("GridDispatch.IRosterHolder", "WorkerChangedAsync", city.Grid),
            Pool: CallCounter.Count("GridDispatch.IRegionGrain", "PoolChangedAsync", city.Community));

        const int incidents = 40;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < incidents; i++)
        {
            var view = await Grains.ReportAsync(Reports.Make(city.Grid));
            await Grains.Incident(view).StartAsync(new ActorCommand(worker));
        }

        var load = (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Load;
        await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.Roster.Single(e => e.WorkerId == worker).Load == load,
            what: "the grid has the worker's newest load");
        var elapsed = watch.Elapsed;
        var reports = (Grid: CallCounter.Count("GridDispatch.IRosterHolder", "WorkerChangedAsync", city.Grid) - before.Grid,
            Pool: CallCounter.Count("GridDispatch.IRegionGrain", "PoolChangedAsync", city.Community) - before.Pool);

        // 80 changes (an offer and a start per incident); at most one report per 100 ms interval reached each unit,
        // plus the first, however busy the machine was.
        Assert.True(load >= incidents, $"load {load} for {incidents} open tasks");
        Assert.Equal(incidents, (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Tasks.Length);
        Assert.InRange(reports.Grid, 1, (int)(elapsed.TotalMilliseconds / 100) + 2);
        Assert.True(reports.Grid < 2 * incidents, $"{reports.Grid} reports to the grid for {2 * incidents} changes");
        Assert.True(reports.Pool <= reports.Grid + 1, $"{reports.Pool} reports to the community pool, {reports.Grid} to the grid");
    }

    [Fact]
    public async Task Roll_ups_reach_the_city_in_batches_not_one_call_per_event()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid], capacity: 1000);
        await city.LoadAsync(Grains);
        await Eventually.Get(() => Grains.GetGrain<ICityGrain>(city.Code).GetAsync(), c => c.Summary.Workers == 1);
        var before = CallCounter.Count("GridDispatch.IRegionGrain", "ChildChangedAsync", city.Code);

        const int incidents = 60;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < incidents; i++)
        {
            var view = await Grains.ReportAsync(Reports.Make(city.Grid));
            await Grains.Incident(view).StartAsync(new ActorCommand(worker));
        }

        await Eventually.Get(() => Grains.GetGrain<ICityGrain>(city.Code).GetAsync(), c => c.Summary.OpenByState.GetValueOrDefault(IncidentState.InProgress) == incidents);
        var pushes = CallCounter.Count("GridDispatch.IRegionGrain", "ChildChangedAsync", city.Code) - before;

        // 120 incident events happened; the city heard from its district at most once per 100 ms roll-up interval
        // from the first event until the city showed them all, however busy the machine was — never once per event.
        var intervals = (int)(watch.Elapsed.TotalMilliseconds / 100);
        Assert.InRange(pushes, 1, intervals + 2);
        Assert.True(pushes < 2 * incidents, $"{pushes} pushes for {2 * incidents} events");
    }

    [Fact]
    public async Task Kpis_match_figures_computed_by_hand_for_worker_grid_and_region()
    {
        var city = TestCity.Create();
        var w = city.AddWorker("w", [city.Grid, city.Community], capacity: 100);
        await city.LoadAsync(Grains);
        var ops = new Ops(Grains, w) { RegionCodeOfGrid = city.Grid };

        await ops.Close(await ops.Report(), rating: 4);                                   // 1: on time, rated 4
        await ops.Close(await ops.Report(Severity.Urgent), rating: 2, rework: true);      // 2: urgent, on time, reworked, rated 2
        var late = await ops.Report();                                                    // 3: will close late
        var overdue = await ops.Report();                                                 // 4: will stay open, overdue
        await Grains.Incident(late).AcknowledgeAsync(new ActorCommand(w));              // acknowledged, so only the handling deadline moves them
        await Grains.Incident(overdue).AcknowledgeAsync(new ActorCommand(w));
        ClusterFixture.Time.Advance(TimeSpan.FromDays(40));
        await Grains.Incident(late).CheckDeadlinesAsync();
        var escalated = await Grains.Incident(overdue).CheckDeadlinesAsync();
        Assert.Equal((RegionLevel.Community, w), (escalated.Level, escalated.Assignee!.Id));
        await ops.Close(late, rating: null);
        var deferred = await ops.Report();                                                // 5: deferred
        await Grains.Incident(deferred).DeferAsync(new DeferCommand("leader", "waiting for the owner"));
        await ops.Report();                                                               // 6: open, not yet due
        var cancelled = await ops.Report();                                               // 7: cancelled
        await Grains.Incident(cancelled).CancelAsync(new ActorCommand("leader", "duplicate"));

        // due = 3 closed + 1 overdue + 1 deferred = 5; closed 3; on time 2; deferred 1; reworked 1; ratings 4 + 2.
        var expected = new KpiCounters(Due: 5, Closed: 3, ClosedOnTime: 2, Deferred: 1, Reworked: 1, Rated: 2, RatingSum: 6);
        var expectedUrgent = new KpiCounters(1, 1, 1, 0, 1, 1, 2);
        var grid = await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.Summary.Kpi.All == expected,
            what: "grid KPIs");
        Assert.Equal(expectedUrgent, grid.Summary.Kpi.Urgent);
        Assert.Equal(0.75, grid.Summary.Kpi.All.ClosureRate);        // 3 / (5 - 1)
        Assert.Equal(0.5, grid.Summary.Kpi.All.OnTimeRate);          // 2 / (5 - 1)
        Assert.Equal(1.0 / 3, grid.Summary.Kpi.All.ReworkRate!.Value, 9);
        Assert.Equal(3.0, grid.Summary.Kpi.All.AverageRating);

        var cityView = await Eventually.Get(() => Grains.GetGrain<ICityGrain>(city.Code).GetAsync(), c => c.Summary.Kpi.All == expected,
            what: "city KPIs");
        Assert.Equal(expectedUrgent, cityView.Summary.Kpi.Urgent);

        // The worker closed 1-3 and holds 4 (overdue) and 6; 5 left them when deferred, 7 when cancelled.
        var worker = await Grains.GetGrain<IWorkerGrain>(w).GetAsync();
        Assert.Equal(new KpiCounters(Due: 4, Closed: 3, ClosedOnTime: 2, Deferred: 0, Reworked: 1, Rated: 2, RatingSum: 6), worker.Kpi.All);
        Assert.Equal(2, worker.Load);
    }

    private sealed class Ops(IGrainFactory grains, string worker)
    {
        public Task<IncidentView> Report(Severity severity = Severity.Routine) =>
            grains.ReportAsync(Reports.Make(RegionCodeOfGrid ?? throw new InvalidOperationException(), severity: severity));

        public string? RegionCodeOfGrid { get; set; }

        public async Task Close(IncidentView view, int? rating, bool rework = false)
        {
            var g = grains.Incident(view);
            await g.StartAsync(new ActorCommand(worker));
            await g.ResolveAsync(new ActorCommand(worker, "done"));
            if (rework)
            {
                await g.ReworkAsync(new ActorCommand("supervisor", "not done"));
                await g.ResolveAsync(new ActorCommand(worker, "done again"));
            }

            await g.VerifyAsync(new ActorCommand("supervisor"));
            await (rating is { } stars ? g.RateAsync(new RateCommand("resident-1", stars)) : g.CloseAsync(new ActorCommand("supervisor")));
        }
    }
}
