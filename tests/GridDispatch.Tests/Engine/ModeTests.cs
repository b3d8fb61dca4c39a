using Orleans.Core.Internal;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Engine;

[Collection(ClusterCollection.Name)]
public sealed class ModeTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private async Task<IReadOnlyList<OperatingMode>> GridModes(TestCity city) =>
        await Task.WhenAll(city.Grids.Select(async g => (await Grains.GetGrain<IGridGrain>(g).GetAsync()).Summary.Mode!));

    [Fact]
    public async Task A_switch_at_a_scope_reaches_every_grid_below_and_a_nearer_scope_wins()
    {
        var city = TestCity.Create(communities: 3, gridsPerCommunity: 3);
        await city.LoadAsync(Grains);
        var street = Grains.GetGrain<IStreetGrain>(city.Street);
        var top = Grains.GetGrain<ICityGrain>(city.Code);

        var switched = await street.SwitchModeAsync(new ModeCommand(Mode.Emergency, "II", "typhoon landfall expected tonight", "commander-street"));
        Assert.Equal((Mode.Emergency, city.Street), (switched.OwnMode!.Mode, switched.OwnMode.Scope));
        await Eventually.Get(() => GridModes(city), modes => modes.All(m => m is { Mode: Mode.Emergency, Level: "II" } && m.Scope == city.Street),
            what: "every grid of the street in emergency II");
        Assert.Equal(Mode.Everyday, (await Grains.GetGrain<IDistrictGrain>(city.District).GetAsync()).Summary.Mode!.Mode);

        // The city goes to level I: the street keeps its own setting.
        await top.SwitchModeAsync(new ModeCommand(Mode.Emergency, "I", "province-wide typhoon response", "commander-city"));
        await Eventually.Get(() => Grains.GetGrain<IDistrictGrain>(city.District).GetAsync(), d => d.Summary.Mode!.Scope == city.Code);
        Assert.All(await GridModes(city), m => Assert.Equal(city.Street, m.Scope));

        // The street stands down: it falls back to what it inherits, the city's emergency.
        await street.SwitchModeAsync(new ModeCommand(Mode.Everyday, null, "street cleared", "commander-street"));
        await Eventually.Get(() => GridModes(city), modes => modes.All(m => m is { Mode: Mode.Emergency, Level: "I" } && m.Scope == city.Code));

        // The city stands down: everyday everywhere, and the history keeps who, when and why.
        var calm = await top.SwitchModeAsync(new ModeCommand(Mode.Everyday, null, "typhoon passed", "commander-city"));
        await Eventually.Get(() => GridModes(city), modes => modes.All(m => m.Mode == Mode.Everyday));
        Assert.Equal(["province-wide typhoon response", "typhoon passed"], calm.ModeHistory.Select(h => h.Reason));
        Assert.All(calm.ModeHistory, h => Assert.Equal("commander-city", h.SetBy));
        var streetHistory = (await street.GetAsync()).ModeHistory;
        Assert.Equal([Mode.Emergency, Mode.Everyday], streetHistory.Select(h => h.Mode));
    }

    [Fact]
    public async Task A_grid_that_missed_the_switch_takes_its_communitys_mode_when_it_activates_again()
    {
        var city = TestCity.Create(communities: 1, gridsPerCommunity: 2);
        await city.LoadAsync(Grains);
        var grid = Grains.GetGrain<IGridGrain>(city.Grid);
        var other = city.Grids.First(g => g != city.Grid);

        // The broadcast to one grid is lost (its silo died with the message, say): every other grid switches.
        using (CallHooks.Before(nameof(IGridGrain.InheritModeAsync), city.Grid, _ => throw new TimeoutException("test: lost with its silo")))
        {
            await Grains.GetGrain<IStreetGrain>(city.Street).SwitchModeAsync(new ModeCommand(Mode.Emergency, "II", "flood", "commander-street"));
            await Eventually.Get(() => Grains.GetGrain<IGridGrain>(other).GetModeAsync(), m => m!.Mode == Mode.Emergency, what: "the other grid switched");
            Assert.Equal(Mode.Everyday, (await grid.GetModeAsync())!.Mode);
        }

        // Activated again, the grid asks its community and catches up.
        await grid.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        var mode = await Eventually.Get(grid.GetModeAsync, m => m!.Mode == Mode.Emergency, what: "the reactivated grid in emergency");
        Assert.Equal((city.Street, "II"), (mode!.Scope, mode.Level));
    }

    private async Task SwitchStreetAsync(TestCity city, Mode mode)
    {
        await Grains.GetGrain<IStreetGrain>(city.Street).SwitchModeAsync(
            new ModeCommand(mode, mode == Mode.Emergency ? "II" : null, "test", "commander"));
        await Eventually.Get(() => GridModes(city), modes => modes.All(m => m.Mode == mode), what: $"grids in {mode}");
    }

    [Fact]
    public async Task Volunteers_are_dispatched_only_in_emergency_operation()
    {
        var city = TestCity.Create();
        var volunteer = city.AddWorker("volunteer", [city.Grid], kind: WorkerKind.Volunteer);
        var staff = city.AddWorker("staff", [city.Community]);
        await city.LoadAsync(Grains);

        var everyday = await Grains.ReportAsync(Reports.Make(city.Grid, category: "1501"));
        Assert.Equal(staff, everyday.Assignee!.Id);
        Assert.Contains("no worker of a kind this mode may dispatch", everyday.Timeline.Single(e => e.Kind == IncidentEventKind.Escalated).Reason);

        await SwitchStreetAsync(city, Mode.Emergency);
        var emergency = await Grains.ReportAsync(Reports.Make(city.Grid, category: "1501"));
        Assert.Equal(volunteer, emergency.Assignee!.Id);
        Assert.Equal(Mode.Emergency, emergency.Timeline.Single(e => e.Kind == IncidentEventKind.Accepted).Mode);
    }

    [Fact]
    public async Task Emergency_operation_halves_deadlines_and_takes_the_least_loaded_worker_of_the_community()
    {
        var city = TestCity.Create(gridsPerCommunity: 2);
        var own = city.AddWorker("own", [city.Grids[0]], capacity: 2);
        var neighbour = city.AddWorker("neighbour", [city.Grids[1]], capacity: 2);
        var staff = city.AddWorker("staff", [city.Community], capacity: 100, categories: ["11"]);
        var streetStaff = city.AddWorker("street", [city.Street], capacity: 100);
        await city.LoadAsync(Grains);

        // Everyday: the grid's own worker, with the everyday deadlines.
        var calm = await Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Urgent));
        var calmAccepted = calm.Timeline.Single(e => e.Kind == IncidentEventKind.Accepted).At;
        Assert.Equal(own, calm.Assignee!.Id);
        Assert.Equal(calmAccepted + TimeSpan.FromHours(4), calm.Deadlines[DeadlineKind.Handle]);
        Assert.Equal(calmAccepted + TimeSpan.FromMinutes(10), calm.Deadlines[DeadlineKind.TaskAcceptance]);
        await Grains.Incident(calm).CancelAsync(new ActorCommand("d", "test"));
        await Eventually.Get(() => Grains.GetRegion(city.Community).GetAsync(),
            c => c.Children.Length == 2 && c.Children.All(g => g.Load == 0),
            what: "the community sees both grids' workers free again");

        await SwitchStreetAsync(city, Mode.Emergency);
        // The community's pool hears of each worker's load on its own (one-way): both must be free there before the tie.
        await Eventually.Get(() => Grains.GetRegion(city.Community).GetPoolAsync(),
            pool => pool.Where(e => e.WorkerId == own || e.WorkerId == neighbour).Count(e => e.Load == 0) == 2, what: "the pool sees both grid workers free");
        var urgent = await Grains.ReportAsync(Reports.Make(city.Grid, severity: Severity.Urgent));
        var accepted = urgent.Timeline.Single(e => e.Kind == IncidentEventKind.Accepted).At;
        Assert.Equal(accepted + TimeSpan.FromHours(2), urgent.Deadlines[DeadlineKind.Handle]);
        Assert.Equal(accepted + TimeSpan.FromMinutes(5), urgent.Deadlines[DeadlineKind.TaskAcceptance]);
        Assert.Equal(own, urgent.Assignee!.Id);                 // both free: the grid's own worker wins the tie

        // From now on the least-loaded fitting worker of the community is taken, whichever grid they belong to, up to
        // 1.5 × capacity; the community staff does not handle class 01 and is never picked.
        var picks = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var routine = await Grains.ReportAsync(Reports.Make(city.Grid));
            picks.Add(routine.Assignee!.Id);
            Assert.Equal(RegionLevel.Grid, routine.Level);
            Assert.Contains($"least loaded fitting worker of community {city.Community}",
                routine.Timeline.Single(e => e.Kind == IncidentEventKind.Dispatched).Reason);
        }

        Assert.Equal([neighbour, neighbour, own, neighbour], picks);   // loads (own, neighbour): 2/0 → 2/1 → 2/2 → 3/2 → 3/3

        // Workers report their load at most every 100 ms, to their grids and pools at once: wait until both grids have
        // heard the newest, so the pools have been sent it too.
        foreach (var (worker, grid) in new[] { (own, city.Grids[0]), (neighbour, city.Grids[1]) })
        {
            var load = (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Load;
            await Eventually.Get(() => Grains.GetGrain<IGridGrain>(grid).GetAsync(), g => g.Roster.Single(e => e.WorkerId == worker).Load == load,
                what: $"{worker}'s load reported");
        }

        await Task.Delay(200);      // and the pools, which hear the same reports one-way
        var full = await Grains.ReportAsync(Reports.Make(city.Grid));       // 4 > 3 for both: the street's pool is next
        Assert.Equal(streetStaff, full.Assignee!.Id);
        Assert.Contains($"least loaded fitting worker of street {city.Street}", full.Timeline.Single(e => e.Kind == IncidentEventKind.Dispatched).Reason);
        Assert.NotEqual(staff, full.Assignee.Id);

        await SwitchStreetAsync(city, Mode.Everyday);
    }

    [Fact]
    public async Task A_mode_can_set_its_own_handling_limit_per_category_class()
    {
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid], capacity: 100);
        await city.LoadAsync(Grains);

        // Class 16 in the catalogue; the emergency policy of the test settings replaces its limit with 45 minutes.
        var calm = await Grains.ReportAsync(Reports.Make(city.Grid, category: "1601", severity: Severity.Urgent));
        var calmAccepted = calm.Timeline.Single(e => e.Kind == IncidentEventKind.Accepted).At;
        Assert.NotEqual(calmAccepted + TimeSpan.FromMinutes(45), calm.Deadlines[DeadlineKind.Handle]);

        await SwitchStreetAsync(city, Mode.Emergency);
        var hot = await Grains.ReportAsync(Reports.Make(city.Grid, category: "1601", severity: Severity.Urgent));
        Assert.Equal(hot.Timeline.Single(e => e.Kind == IncidentEventKind.Accepted).At + TimeSpan.FromMinutes(45), hot.Deadlines[DeadlineKind.Handle]);
        var other = await Grains.ReportAsync(Reports.Make(city.Grid, category: "0101", severity: Severity.Urgent));
        Assert.Equal(other.Timeline.Single(e => e.Kind == IncidentEventKind.Accepted).At + TimeSpan.FromHours(2), other.Deadlines[DeadlineKind.Handle]);
        await SwitchStreetAsync(city, Mode.Everyday);
    }

    [Fact]
    public async Task Emergency_lowers_the_escalation_threshold_to_one_refusal()
    {
        var city = TestCity.Create();
        var first = city.AddWorker("a", [city.Grid]);
        var second = city.AddWorker("b", [city.Grid]);
        var staff = city.AddWorker("staff", [city.Community], capacity: 100);
        await city.LoadAsync(Grains);

        // Everyday: one decline and the grid's next worker is asked (threshold 3).
        var calm = await Grains.ReportAsync(Reports.Make(city.Grid));
        var declined = await Grains.Incident(calm).DeclineAsync(new ActorCommand(calm.Assignee!.Id));
        Assert.Equal(RegionLevel.Grid, declined.Level);
        Assert.Contains(declined.Assignee!.Id, new[] { first, second });
        // Workers report their load at most every 100 ms: wait until the grid has heard the decliner is free again.
        await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(),
            g => g.Roster.Single(e => e.WorkerId == calm.Assignee!.Id).Load == 0, what: "the decliner's load reported");

        await SwitchStreetAsync(city, Mode.Emergency);
        var hot = await Grains.ReportAsync(Reports.Make(city.Grid));
        Assert.Equal(RegionLevel.Grid, hot.Level);
        var refused = await Grains.Incident(hot).DeclineAsync(new ActorCommand(hot.Assignee!.Id));
        Assert.Equal(RegionLevel.Community, refused.Level);
        Assert.Contains("emergency escalation threshold", refused.Timeline.Last(e => e.Kind == IncidentEventKind.Escalated).Reason);
        Assert.Equal(staff, refused.Assignee!.Id);

        await SwitchStreetAsync(city, Mode.Everyday);
    }

    [Fact]
    public async Task Bad_switches_are_refused_naming_the_field()
    {
        var city = TestCity.Create();
        await city.LoadAsync(Grains);

        async Task<string?> Refused(string code, ModeCommand command) =>
            (await Assert.ThrowsAsync<DomainException>(() => Grains.GetRegion(code).SwitchModeAsync(command))).Field;

        Assert.Equal("code", await Refused(city.Community, new ModeCommand(Mode.Emergency, "I", "x", "c")));
        Assert.Equal("level", await Refused(city.Street, new ModeCommand(Mode.Emergency, null, "x", "c")));
        Assert.Equal("level", await Refused(city.Street, new ModeCommand(Mode.Emergency, "V", "x", "c")));
        Assert.Equal("level", await Refused(city.Street, new ModeCommand(Mode.Everyday, "I", "x", "c")));
        Assert.Equal("reason", await Refused(city.Street, new ModeCommand(Mode.Emergency, "I", "", "c")));
        Assert.Equal("actor", await Refused(city.Street, new ModeCommand(Mode.Emergency, "I", "x", "")));
        Assert.True((await Grains.GetGrain<IStreetGrain>(city.Street).GetAsync()).ModeHistory.IsEmpty);
    }
}
