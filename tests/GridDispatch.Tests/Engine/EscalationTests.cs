using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Engine;

[Collection(ClusterCollection.Name)]
public sealed class EscalationTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task Incident_nobody_can_handle_climbs_every_level_to_the_city_queue()
    {
        var city = TestCity.Create();
        await city.LoadAsync(Grains);

        // 0601 has no owning department, and this city has no staff anywhere.
        var view = await Grains.ReportAsync(Reports.Make(city.Grid, category: "0601"));

        Assert.Equal((IncidentState.Accepted, RegionLevel.City, city.Code), (view.State, view.Level, view.LevelCode));
        var escalations = view.Timeline.Where(e => e.Kind == IncidentEventKind.Escalated).ToList();
        Assert.Equal([RegionLevel.Community, RegionLevel.Street, RegionLevel.District, RegionLevel.City], escalations.Select(e => e.Level!.Value));
        Assert.Equal([city.Community, city.Street, city.District, city.Code], escalations.Select(e => e.UnitCode!));
        Assert.Equal(IncidentEventKind.AwaitingAssignment, view.Timeline[^1].Kind);
        Assert.Contains(view.Id, (await Grains.GetGrain<ICityGrain>(city.Code).GetAsync()).AwaitingAssignment);
    }

    [Fact]
    public async Task The_street_blows_the_whistle_and_the_owning_department_reports()
    {
        var city = TestCity.Create();
        city.Departments.Add(new City.DepartmentEntry("city-management", "City management bureau"));
        var officer = city.AddWorker("officer", [], department: "city-management", categories: ["01"]);
        await city.LoadAsync(Grains);

        var view = await Grains.ReportAsync(Reports.Make(city.Grid, category: "0101"));

        Assert.Equal((RegionLevel.Street, city.Street), (view.Level, view.LevelCode));
        Assert.Equal(Assignee.Worker(officer), view.Assignee);

        // The officer goes off duty: the next incident waits in the department's own queue instead.
        await Grains.GetGrain<IWorkerGrain>(officer).SetStatusAsync(WorkerStatus.OffDuty);
        var department = Grains.GetGrain<IDepartmentGrain>(RegionCode.DepartmentKey(city.Code, "city-management"));
        await Eventually.Get(() => department.GetAsync(), d => d.Staff.Single().Status == WorkerStatus.OffDuty);
        var queued = await Grains.ReportAsync(Reports.Make(city.Grid, category: "0103"));
        Assert.Equal(Assignee.Department(department.GetPrimaryKeyString()), queued.Assignee);
        Assert.Contains(queued.Id, (await department.GetAsync()).Queue);

        await Grains.Incident(queued).CancelAsync(new ActorCommand("dispatcher-1", "reported twice"));
        Assert.DoesNotContain(queued.Id, (await department.GetAsync()).Queue);
    }

    [Fact]
    public async Task Holds_and_releases_arriving_together_all_take_effect()
    {
        var city = TestCity.Create();
        city.Departments.Add(new City.DepartmentEntry("city-management", "City management bureau"));
        await city.LoadAsync(Grains);
        var department = Grains.GetGrain<IDepartmentGrain>(RegionCode.DepartmentKey(city.Code, "city-management"));
        var ids = Enumerable.Range(0, 300).Select(i => $"{city.Code}-held-{i:D3}").ToList();

        // Interleaved: these share writes instead of queueing behind one another.
        await Task.WhenAll(ids.Select(department.HoldAsync));
        Assert.Equal(ids, (await department.GetAsync()).Queue);

        await Task.WhenAll(ids.Where((_, i) => i % 3 == 0).Select(department.ReleaseAsync));
        Assert.Equal(ids.Where((_, i) => i % 3 != 0), (await department.GetAsync()).Queue);
    }

    [Fact]
    public async Task A_missed_deadline_escalates_level_by_level_and_stops_at_the_city_without_looping()
    {
        var city = TestCity.Create();
        var gridWorker = city.AddWorker("grid", [city.Grid]);
        var communityStaff = city.AddWorker("community", [city.Community]);
        var streetStaff = city.AddWorker("street", [city.Street]);
        var districtStaff = city.AddWorker("district", [city.District]);
        await city.LoadAsync(Grains);

        // Urgent: wall clock, handling capped at 4 hours per level.
        var view = await Grains.ReportAsync(Reports.Make(city.Grid, category: "0601", severity: Severity.Urgent));
        var incident = Grains.Incident(view);
        Assert.Equal(gridWorker, view.Assignee!.Id);
        Assert.Equal(view.Timeline[1].At + TimeSpan.FromHours(4), view.Deadlines[DeadlineKind.Handle]);
        await incident.AcknowledgeAsync(new ActorCommand(gridWorker));

        var holders = new List<(RegionLevel, string?)>();
        for (var i = 0; i < 5; i++)
        {
            ClusterFixture.Time.Advance(TimeSpan.FromHours(5));
            var after = await incident.CheckDeadlinesAsync();
            holders.Add((after.Level, after.Assignee?.Id));
            if (after.Assignee is { } holder)
            {
                await incident.AcknowledgeAsync(new ActorCommand(holder.Id)); // so only the handling deadline can move it
            }
        }

        Assert.Equal(
            [(RegionLevel.Community, communityStaff), (RegionLevel.Street, streetStaff), (RegionLevel.District, districtStaff),
             (RegionLevel.City, null), (RegionLevel.City, null)],
            holders);
        var final = await incident.GetAsync();
        Assert.Equal(4, final.Timeline.Count(e => e.Kind == IncidentEventKind.Escalated));
        Assert.Equal(5, final.Timeline.Count(e => e.Kind == IncidentEventKind.DeadlineMissed));
        Assert.True(final.Overdue);
        Assert.False(final.Deadlines.ContainsKey(DeadlineKind.Handle));
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(gridWorker).GetAsync()).Load);
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(communityStaff).GetAsync()).Load);

        // Checking again changes nothing: deadline handling is idempotent.
        var again = await incident.CheckDeadlinesAsync();
        Assert.Equal(final.Version, again.Version);
        IncidentLoopTests.AssertTimelineIsContinuous(final);
    }

    [Fact]
    public async Task A_grid_worker_escalates_by_hand_what_is_outside_the_grids_powers()
    {
        var city = TestCity.Create();
        var gridWorker = city.AddWorker("grid", [city.Grid]);
        var communityStaff = city.AddWorker("community", [city.Community]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid, category: "1101"));
        await Grains.Incident(view).StartAsync(new ActorCommand(gridWorker));

        var missingReason = await Assert.ThrowsAsync<DomainException>(() => Grains.Incident(view).EscalateAsync(new ActorCommand(gridWorker)));
        Assert.Equal("reason", missingReason.Field);

        var escalated = await Grains.Incident(view).EscalateAsync(new ActorCommand(gridWorker, "dispute involves three households and a landlord"));
        Assert.Equal((RegionLevel.Community, communityStaff), (escalated.Level, escalated.Assignee!.Id));
        Assert.Equal(gridWorker, escalated.Timeline.Single(e => e.Kind == IncidentEventKind.Escalated).Actor);
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(gridWorker).GetAsync()).Load);
    }

    [Fact]
    public async Task A_routine_deadline_is_counted_in_working_time()
    {
        var city = TestCity.Create();
        city.AddWorker("grid", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid, category: "0103")); // dirty road: 5 working hours

        var calendar = new GridDispatch.Domain.WorkingCalendar(new GridDispatch.Domain.CalendarOptions());
        var accepted = view.Timeline.Single(e => e.Kind == IncidentEventKind.Accepted).At;
        Assert.Equal(calendar.AddWorkingTime(accepted, TimeSpan.FromHours(5)), view.Deadlines[DeadlineKind.Handle]);
    }
}
