using GridDispatch.Tests.Infrastructure;
using Orleans.Core.Internal;

namespace GridDispatch.Tests.Engine;

[Collection(ClusterCollection.Name)]
public sealed class DispatchTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task Grid_dispatches_to_the_fitting_worker_with_the_lowest_load_relative_to_capacity()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid], capacity: 10);
        var b = city.AddWorker("b", [city.Grid], capacity: 5);
        city.AddWorker("off", [city.Grid], capacity: 50, status: WorkerStatus.OffDuty);
        city.AddWorker("police", [city.Grid], capacity: 50, categories: ["11"]);
        await city.LoadAsync(Grains);

        var picks = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            picks.Add((await Grains.ReportAsync(Reports.Make(city.Grid))).Assignee!.Id);
        }

        // a 0/10 = b 0/5: tie, then lower load, then id -> a; b (0/5 < 1/10); a (1/10 < 1/5);
        // b (2/10 = 1/5, and b's load 1 < 2); a (2/10 < 2/5); a (3/10 < 2/5).
        Assert.Equal([a, b, a, b, a, a], picks);
        Assert.Equal(4, (await Grains.GetGrain<IWorkerGrain>(a).GetAsync()).Load);
        Assert.Equal(2, (await Grains.GetGrain<IWorkerGrain>(b).GetAsync()).Load);

        var police = (await Grains.ReportAsync(Reports.Make(city.Grid, category: "1101"))).Assignee!.Id;
        Assert.Equal($"{city.Code}-police", police);
    }

    [Fact]
    public async Task Severity_weights_the_load_and_a_full_worker_is_passed_over()
    {
        var city = TestCity.Create();
        var small = city.AddWorker("small", [city.Grid], capacity: 3);
        var big = city.AddWorker("big", [city.Grid], capacity: 30);
        await city.LoadAsync(Grains);

        var critical = await Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Critical));
        Assert.Equal(big, critical.Assignee!.Id); // both empty: "big" sorts first
        Assert.Equal(3, (await Grains.GetGrain<IWorkerGrain>(big).GetAsync()).Load);

        var urgent = await Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Urgent));
        Assert.Equal(small, urgent.Assignee!.Id); // 0/3 < 3/30
        var next = await Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Urgent));
        Assert.Equal(big, next.Assignee!.Id); // small has 2/3 and no room for 2 more
    }

    [Fact]
    public async Task A_decline_redispatches_to_the_next_fitting_worker_and_never_back_to_the_one_who_declined()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid]);
        var c = city.AddWorker("c", [city.Community], categories: ["01"]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        Assert.Equal(a, view.Assignee!.Id);

        var afterA = await Grains.Incident(view).DeclineAsync(new ActorCommand(a, "on leave this afternoon"));
        Assert.Equal(b, afterA.Assignee!.Id);
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(a).GetAsync()).Load);

        var afterB = await Grains.Incident(view).DeclineAsync(new ActorCommand(b, "busy"));
        Assert.Equal(c, afterB.Assignee!.Id);
        Assert.Equal(RegionLevel.Community, afterB.Level);
        var escalation = afterB.Timeline.Single(e => e.Kind == IncidentEventKind.Escalated);
        Assert.Contains("declined", escalation.Reason);
        Assert.Equal(
            [IncidentEventKind.Dispatched, IncidentEventKind.TaskDeclined, IncidentEventKind.Dispatched, IncidentEventKind.TaskDeclined,
             IncidentEventKind.Escalated, IncidentEventKind.Dispatched],
            afterB.Kinds().Skip(2));
        IncidentLoopTests.AssertTimelineIsContinuous(afterB);
    }

    [Fact]
    public async Task A_worker_hands_back_a_started_task_and_it_goes_to_someone_else_with_the_reason_on_record()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        await Grains.Incident(view).AcknowledgeAsync(new ActorCommand(a));
        await Grains.Incident(view).StartAsync(new ActorCommand(a));

        var handedBack = await Grains.Incident(view).HandBackAsync(new ActorCommand(a, "needs a ladder truck"));

        Assert.Equal((IncidentState.Dispatched, b), (handedBack.State, handedBack.Assignee!.Id));
        var entry = handedBack.Timeline.Single(e => e.Kind == IncidentEventKind.HandedBack);
        Assert.Equal((a, "needs a ladder truck", IncidentState.InProgress), (entry.Actor, entry.Reason, entry.From));
        Assert.Empty((await Grains.GetGrain<IWorkerGrain>(a).GetAsync()).Tasks);
        Assert.Single((await Grains.GetGrain<IWorkerGrain>(b).GetAsync()).Tasks);
    }

    [Fact]
    public async Task A_task_not_acknowledged_in_time_moves_to_the_next_worker_by_itself()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid]);
        await city.LoadAsync(Grains);

        // Critical incidents must be acknowledged within 2 s in the test configuration; the grain timer fires by itself.
        var view = await Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Critical));
        Assert.Equal(a, view.Assignee!.Id);

        var moved = await Eventually.Get(() => Grains.Incident(view).GetAsync(), v => v.Assignee?.Id == b, TimeSpan.FromSeconds(20));
        Assert.Contains(IncidentEventKind.AcceptanceTimedOut, moved.Kinds());
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(a).GetAsync()).Load);
    }

    [Fact]
    public async Task An_acknowledgement_deadline_survives_deactivation_because_it_is_a_reminder()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid]);
        await city.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Critical));
        Assert.Equal(a, view.Assignee!.Id);

        // Deactivating drops the in-memory timer; only the durable reminder can bring the incident back.
        await Grains.Incident(view).AsReference<IGrainManagementExtension>().DeactivateOnIdle();

        var moved = await Eventually.Get(() => Grains.GetGrain<IWorkerGrain>(b).GetAsync(), w => w.Tasks.Any(t => t.IncidentId == view.Id),
            TimeSpan.FromSeconds(30), "reminder re-dispatch");
        Assert.Equal(3, moved.Load); // a critical task weighs 3
        var incident = await Grains.Incident(view).GetAsync();
        Assert.Contains(IncidentEventKind.AcceptanceTimedOut, incident.Kinds());
    }

    [Fact]
    public async Task An_offer_refused_by_a_worker_who_went_off_duty_is_recorded_and_the_next_worker_is_taken()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid], capacity: 5);
        await city.LoadAsync(Grains);

        // The grid learns of the status change by a one-way report; wait until it has.
        await Grains.GetGrain<IWorkerGrain>(a).SetStatusAsync(WorkerStatus.OffDuty);
        await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(), g => g.Roster.Single(r => r.WorkerId == a).Status == WorkerStatus.OffDuty);

        var view = await Grains.ReportAsync(Reports.Make(city.Grid));
        Assert.Equal(b, view.Assignee!.Id);
    }

    [Fact]
    public async Task Nobody_fitting_in_the_grid_escalates_to_the_community_staff()
    {
        var city = TestCity.Create();
        city.AddWorker("police", [city.Grid], categories: ["11"]);
        var inspector = city.AddWorker("inspector", [city.Community], categories: ["01", "02"]);
        await city.LoadAsync(Grains);

        var view = await Grains.ReportAsync(Reports.Make(city.Grid, category: "0103"));

        Assert.Equal(inspector, view.Assignee!.Id);
        Assert.Equal((RegionLevel.Community, city.Community), (view.Level, view.LevelCode));
        var escalated = view.Timeline.Single(e => e.Kind == IncidentEventKind.Escalated);
        Assert.Equal(SystemActor, escalated.Actor);
        Assert.Contains("no worker on duty handles category 0103", escalated.Reason);
    }

    [Fact]
    public async Task A_commander_assigns_by_hand_and_an_unfit_worker_is_refused()
    {
        // Nobody handles class 06 here, so the incident climbs to the city; the city's own workers (of other classes)
        // may still be sent by hand, a worker of another city may not.
        var city = TestCity.Create();
        var helper = city.AddWorker("helper", [city.Grid], categories: ["01"]);
        var off = city.AddWorker("off", [city.Grid], categories: ["01"], status: WorkerStatus.OffDuty);
        await city.LoadAsync(Grains);
        var other = TestCity.Create();
        var stranger = other.AddWorker("stranger", [other.Grid]);
        await other.LoadAsync(Grains);
        var view = await Grains.ReportAsync(Reports.Make(city.Grid, category: "0601"));
        Assert.Equal((IncidentState.Accepted, RegionLevel.City), (view.State, view.Level));

        var refused = await Assert.ThrowsAsync<DomainException>(() => Grains.Incident(view).AssignAsync(new AssignCommand("commander-1", off)));
        Assert.Equal(("not-allowed", "workerId"), (refused.Code, refused.Field));
        var foreign = await Assert.ThrowsAsync<DomainException>(() => Grains.Incident(view).AssignAsync(new AssignCommand("commander-1", stranger)));
        Assert.Equal(("not-allowed", "workerId"), (foreign.Code, foreign.Field));
        Assert.Contains("does not serve", foreign.Message);
        Assert.Equal(view.Version, (await Grains.Incident(view).GetAsync()).Version);
        Assert.Equal(0, (await Grains.GetGrain<IWorkerGrain>(stranger).GetAsync()).Load);

        var assigned = await Grains.Incident(view).AssignAsync(new AssignCommand("commander-1", helper, "sent from the next district"));
        Assert.Equal(Assignee.Worker(helper), assigned.Assignee);
        Assert.Equal("commander-1", assigned.Timeline[^1].Actor);
        var cityView = await Grains.GetGrain<ICityGrain>(city.Code).GetAsync();
        Assert.DoesNotContain(view.Id, cityView.AwaitingAssignment);
    }

    private const string SystemActor = "system";
}
