using System.Collections.Immutable;
using GridDispatch.Domain;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Register;

/// <summary>
/// Three-colour monitoring on the register: revisits fall due by themselves (swept like deadlines), a yellow household
/// is a warning that is dispatched, escalates and closes like an incident, findings are incidents linked to the
/// household, and colour counts roll up every level of the tree.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class HouseholdMonitoringTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private IRegisterGrain Register => Grains.GetGrain<IRegisterGrain>(0);

    private static HouseholdInput Home(string building, string unit, params string[] tags) =>
        new(building, unit, 2, [.. tags], [new PersonInput("王芳", "13800000001")]);

    private Task<HouseholdView> Household(string id) => Grains.GetGrain<IHouseholdGrain>(id).GetAsync();

    [Fact]
    public async Task A_revisit_falls_due_with_nobody_touching_it_and_its_warning_escalates_and_closes()
    {
        var city = TestCity.Create();
        var gridWorker = city.AddWorker("grid", [city.Grid]);
        var communityWorker = city.AddWorker("community", [city.Community]);
        await city.LoadAsync(Grains);
        await Register.ImportAsync(city.Grid, [Home("1栋", "101", "elderly-alone"), Home("1栋", "102")], "leader", "first collection");
        var id = HouseholdIds.Household(city.Grid, "1栋", "101");
        var registered = await Household(id);
        Assert.Equal((Colour.Green, VisitKind.Phone), (registered.Colour, registered.RevisitKind));
        Assert.Equal(TimeSpan.FromDays(7), registered.RevisitDueAt!.Value - registered.UpdatedAt);   // elderly living alone: phone weekly
        Assert.Null((await Household(HouseholdIds.Household(city.Grid, "1栋", "102"))).RevisitDueAt);   // no tag, no schedule

        // A week and a minute pass. Nobody calls the household: its shard's sweeper finds the revisit due and wakes it.
        ClusterFixture.Time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        await Grains.GetGrain<IDeadlineSweepGrain>(DeadlineShards.Of(id)).SweepAsync();
        var yellow = await Eventually.Get(() => Household(id), h => h.Colour == Colour.Yellow && h.WarningIncidentId is not null, what: "the household turned yellow");
        Assert.Contains(yellow.Reasons, r => r.StartsWith("phone revisit overdue", StringComparison.Ordinal));

        // The warning is an incident linked to the household, dispatched to the grid's worker with a deadline.
        var warning = await Eventually.Get(() => Grains.GetGrain<IIncidentGrain>(yellow.WarningIncidentId!).GetAsync(),
            w => w.Assignee is not null, what: "the warning dispatched");
        Assert.Equal(("1504", id, city.Grid, gridWorker), (warning.Category, warning.Household, warning.GridCode, warning.Assignee!.Id));
        Assert.Contains("phone revisit overdue", warning.Description, StringComparison.Ordinal);     // the cause, in the register's words
        Assert.DoesNotContain("王芳", warning.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("13800000001", warning.Description, StringComparison.Ordinal);
        await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(),
            g => g.Summary.Households is { Yellow: 1, Green: 1, OpenWarnings: 1, OverdueRevisits: 1 }, what: "the grid counts the yellow household");

        // Unhandled past its deadline, the warning escalates to the community like any incident.
        var incident = Grains.GetGrain<IIncidentGrain>(warning.Id);
        await incident.AcknowledgeAsync(new ActorCommand(gridWorker));
        ClusterFixture.Time.Advance(TimeSpan.FromDays(10));
        var escalated = await incident.CheckDeadlinesAsync();
        Assert.Equal((RegionLevel.Community, communityWorker), (escalated.Level, escalated.Assignee?.Id));

        // The community's worker calls the household and closes the warning with what was done: the household is green.
        await Grains.GetGrain<IHouseholdGrain>(id).VisitAsync(new VisitCommand(communityWorker, VisitKind.Phone, VisitOutcome.Ok, "all well, daughter visits on Sundays"));
        Assert.Equal(Colour.Yellow, (await Household(id)).Colour);      // the warning holds its colour until it is closed
        await incident.AcknowledgeAsync(new ActorCommand(communityWorker));
        await incident.StartAsync(new ActorCommand(communityWorker));
        await incident.ResolveAsync(new ActorCommand(communityWorker, "phoned; revisits arranged with the family"));
        await incident.VerifyAsync(new ActorCommand("leader"));
        await incident.CloseAsync(new ActorCommand("leader", "done"));
        var green = await Eventually.Get(() => Household(id), h => h.WarningIncidentId is null, what: "the warning closed at the household");
        Assert.Equal((Colour.Green, 0), (green.Colour, green.Reasons.Length));
        Assert.Equal(green.LastVisit!.At.AddDays(7), green.RevisitDueAt);
        Assert.Contains(green.Log, l => l.Kind == "visit" && l.Actor == communityWorker);
        Assert.Contains(green.Log, l => l.What == $"warning {warning.Id} closed");
        await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetAsync(),
            g => g.Summary.Households is { Yellow: 0, Green: 2, OpenWarnings: 0 }, what: "the grid counts it green again");
    }

    [Fact]
    public async Task Colour_counts_roll_up_every_level_and_a_colour_by_hand_needs_a_reason()
    {
        var city = TestCity.Create(communities: 2);
        city.AddWorker("w", [city.Grids[0]]);
        await city.LoadAsync(Grains);
        await Register.ImportAsync(city.Grids[0], [Home("1栋", "101", "low-income"), Home("1栋", "102"), Home("2栋", "101", "rented")], "leader", "collection");
        await Register.ImportAsync(city.Grids[1], [Home("A", "1"), Home("A", "2", "rented")], "leader", "collection");
        var red = HouseholdIds.Household(city.Grids[0], "1栋", "102");

        var refused = await Assert.ThrowsAsync<DomainException>(() => Grains.GetGrain<IHouseholdGrain>(red).SetColourAsync(new ColourCommand("leader", Colour.Red, " ")));
        Assert.Equal("reason", refused.Field);
        Assert.Equal(Colour.Green, (await Household(red)).Colour);

        var set = await Grains.GetGrain<IHouseholdGrain>(red).SetColourAsync(new ColourCommand("leader", Colour.Red, "gas smell reported by neighbours"));
        Assert.Equal(Colour.Red, set.Colour);
        var warning = await Grains.GetGrain<IIncidentGrain>(set.WarningIncidentId!).GetAsync();
        Assert.Equal(("1505", Severity.Urgent), (warning.Category, warning.Severity));
        Assert.DoesNotContain("gas smell", warning.Description, StringComparison.Ordinal);   // what was typed by hand stays on the household
        Assert.Contains("set red", warning.Description, StringComparison.Ordinal);

        foreach (var code in new[] { city.Communities[0], city.Street, city.District, city.Code })
        {
            var expected = code == city.Communities[0] ? (3, 2, 1, 1) : (5, 4, 1, 2);
            var view = await Eventually.Get(() => Grains.GetRegion(code).GetAsync(),
                r => r.Summary.Households is { } h && (h.Households, h.Green, h.Red, h.ByTag.GetValueOrDefault("rented")) == expected, what: $"{code} counts the register");
            Assert.Equal(1, view.Summary.Households!.ByTag["low-income"]);
        }

        var community = await Grains.GetRegion(city.Communities[1]).GetAsync();
        Assert.Equal((2, 0), (community.Summary.Households?.Households ?? 0, community.Summary.Households?.Red ?? 0));
    }

    [Fact]
    public async Task A_reimport_updates_households_instead_of_adding_them_and_a_conflicting_change_is_merged()
    {
        var city = TestCity.Create();
        await city.LoadAsync(Grains);
        var first = await Register.ImportAsync(city.Grid, [Home("1栋", "101"), Home("1栋", "102")], "leader", "collection");
        Assert.Equal((2, 0, 0), (first.Added, first.Updated, first.Unchanged));
        var id = HouseholdIds.Household(city.Grid, "1栋", "101");
        await Grains.GetGrain<IHouseholdGrain>(id).SetColourAsync(new ColourCommand("w", Colour.Yellow, "roof leaking"));

        var again = await Register.ImportAsync(city.Grid, [Home("1栋", "101", "isolated"), Home("1栋", "102"), Home("1栋", "103")], "leader", "recollection");
        Assert.Equal((1, 1, 1), (again.Added, again.Updated, again.Unchanged));
        var page = await Register.ListAsync(city.Grid, null, null, 1, 50);
        Assert.Equal(3, page.Total);
        var merged = await Household(id);
        Assert.Equal(["isolated"], merged.Tags.ToArray());
        Assert.Equal(Colour.Yellow, merged.Colour);     // what monitoring knew is kept; the import changed the tags
        Assert.Contains(merged.Log, l => l.Kind == "import" && l.Actor == "leader" && l.What.StartsWith("recollection", StringComparison.Ordinal));

        var yellow = await Register.ListAsync(city.Grid, Colour.Yellow, null, 1, 50);
        Assert.Equal([id], yellow.Items.Select(h => h.Id));
        Assert.Equal([id], (await Register.ListAsync(city.Grid, null, "isolated", 1, 50)).Items.Select(h => h.Id));
        Assert.Empty((await Register.ListAsync(city.Grid, null, null, 1, 50)).Items.SelectMany(h => h.People));   // pages carry no personal data
        var buildings = await Register.BuildingsAsync(city.Grid);
        Assert.Equal(("1栋", 3, 3, 1), (buildings.Single().Name, buildings[0].Units, buildings[0].Households, buildings[0].Yellow));
    }

    [Fact]
    public async Task Each_campaign_kind_takes_its_targets_from_the_register_and_a_household_nobody_answers_gets_a_second_visit()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid], capacity: 40);
        await city.LoadAsync(Grains);
        await Register.ImportAsync(city.Grid,
            [Home("1栋", "101", "isolated"), Home("1栋", "102", "elderly-alone"), Home("2栋", "101"), Home("3栋", "", "isolated", "disabled")], "leader", "collection");
        var isolated = HouseholdIds.Household(city.Grid, "1栋", "101");

        async Task<CampaignView> Launch(CampaignKind kind, string[]? tags = null) =>
            await Grains.GetGrain<ICampaignGrain>("c" + Guid.NewGuid().ToString("N")[..12]).LaunchAsync(
                new CampaignSpec(city.Grid, kind, kind.ToString(), null, "commander", Tags: tags, Supplies: kind == CampaignKind.DeliverSupplies ? "rice, masks" : null));
        async Task<ImmutableArray<string>> Targets(CampaignView c, int count) =>
            [.. (await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).UncoveredAsync(c.Id, 100), t => t.Length == count, what: $"{c.Spec.Kind} issued"))
                .Select(t => t.Target).Order(StringComparer.Ordinal)];

        var sweep = await Launch(CampaignKind.SweepBuildings);
        Assert.Equal(new[] { "1栋", "2栋", "3栋" }.Select(b => HouseholdIds.Building(city.Grid, b)).Order(StringComparer.Ordinal), await Targets(sweep, 3));
        var check = await Launch(CampaignKind.CheckHouseholds, ["elderly-alone", "disabled"]);
        Assert.Equal(new[] { ("1栋", "102"), ("3栋", "") }.Select(h => HouseholdIds.Household(city.Grid, h.Item1, h.Item2)).Order(StringComparer.Ordinal),
            await Targets(check, 2));
        var delivery = await Launch(CampaignKind.DeliverSupplies);
        Assert.Equal(new[] { isolated, HouseholdIds.Household(city.Grid, "3栋", "") }.Order(StringComparer.Ordinal), await Targets(delivery, 2));

        // Nobody answers at the isolated home: a second visit is queued in the round, and the household logs the attempt.
        var task = CampaignTasks.Id(delivery.Id, 1, city.Grid, isolated);
        Assert.Contains("deliver: rice, masks", (await Grains.GridOf(task).GetSweepTaskAsync(task)).History[0].What, StringComparison.Ordinal);
        await Grains.FinishTaskAsync(task, new SweepResult(worker, false, "no answer at the door", []));
        var once = await Household(isolated);
        await Grains.FinishTaskAsync(task, new SweepResult(worker, false, "no answer at the door", []));     // the documented retry
        Assert.Equal(once.Version, (await Household(isolated)).Version);                                  // logs the visit once
        var second = CampaignTasks.Id(delivery.Id, 1, city.Grid, isolated + CampaignTasks.SecondVisit);
        var queued = await Eventually.Get(() => Grains.GridOf(second).GetSweepTaskAsync(second), t => t.Status == SweepTaskStatus.Assigned, what: "the second visit assigned");
        Assert.Equal(worker, queued.WorkerId);
        var attempted = await Household(isolated);
        Assert.Equal((VisitKind.InPerson, VisitOutcome.NotReachable), (attempted.LastVisit!.Kind, attempted.LastVisit.Outcome));

        // A household revisited weekly that nobody answers is tried again the next day, in person, not in a week.
        var elderly = HouseholdIds.Household(city.Grid, "1栋", "102");
        await Grains.FinishTaskAsync(CampaignTasks.Id(check.Id, 1, city.Grid, elderly), new SweepResult(worker, false, null, []));
        var retried = await Household(elderly);
        Assert.Equal((VisitKind.InPerson, retried.LastVisit!.At + TimeSpan.FromDays(1)), (retried.RevisitKind!.Value, retried.RevisitDueAt!.Value));

        // The second visit reaches them and finds something: an incident linked to the household, open on it until closed.
        var (_, incidents) = await Grains.FinishTaskAsync(second, new SweepResult(worker, true, "delivered", [new Finding("1501", Severity.Routine, "needs medicine fetched")]));
        var finding = await Grains.GetGrain<IIncidentGrain>(Assert.Single(incidents)).GetAsync();
        Assert.Equal(isolated, finding.Household);
        var withFinding = await Eventually.Get(() => Household(isolated), h => h.OpenFindings.Contains(finding.Id), what: "the finding is open at the household");
        Assert.Equal(Colour.Yellow, withFinding.Colour);
        Assert.Equal(VisitOutcome.Problem, withFinding.LastVisit!.Outcome);
        var progress = await Eventually.Get(() => Grains.GetGrain<ICampaignGrain>(delivery.Id).GetAsync(), c => c.Progress is { Total: 3, Done: 1, NotReachable: 1 }, what: "progress counts both visits");
        Assert.Equal(1, progress.Progress.Findings);
    }

    [Fact]
    public async Task A_yellow_household_turning_red_gets_a_red_warning_and_keeps_the_yellow_one_open()
    {
        var city = TestCity.Create();
        city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        await Register.ImportAsync(city.Grid, [Home("1栋", "101")], "leader", "collection");
        var id = HouseholdIds.Household(city.Grid, "1栋", "101");
        var household = Grains.GetGrain<IHouseholdGrain>(id);
        var yellow = await household.SetColourAsync(new ColourCommand("leader", Colour.Yellow, "roof leaking"));
        var red = await household.SetColourAsync(new ColourCommand("leader", Colour.Red, "ceiling came down"));
        Assert.NotEqual(yellow.WarningIncidentId, red.WarningIncidentId);
        Assert.Contains(yellow.WarningIncidentId!, red.OpenFindings);
        Assert.Equal("1505", (await Grains.GetGrain<IIncidentGrain>(red.WarningIncidentId!).GetAsync()).Category);
        Assert.Equal("1504", (await Grains.GetGrain<IIncidentGrain>(yellow.WarningIncidentId!).GetAsync()).Category);

        // Erasing someone who is not there changes nothing; erasing the one person writes the erasure and its line together.
        var before = await household.GetAsync();
        await household.ErasePersonAsync($"{id}-p9", "district", "");
        Assert.Equal(before.Version, (await household.GetAsync()).Version);
        var erased = await household.ErasePersonAsync($"{id}-p1", "district", "moved");
        Assert.Equal((before.Version + 1, (string?)null), (erased.Version, erased.People[0].Phone));
        Assert.Equal("person 1 erased: moved", erased.Log[0].What);
    }

    [Fact]
    public async Task Imports_racing_a_households_own_changes_lose_none_of_them()
    {
        var city = TestCity.Create();
        await city.LoadAsync(Grains);
        await Register.ImportAsync(city.Grid, [Home("1栋", "101"), Home("1栋", "102")], "leader", "collection");
        var id = HouseholdIds.Household(city.Grid, "1栋", "101");
        var household = Grains.GetGrain<IHouseholdGrain>(id);

        // Colour changes through the household's grain and imports through the stateless register grain, all at once:
        // whichever writes second finds the version moved, reads again and applies its change again.
        var colours = Enumerable.Range(1, 8).Select(i => household.SetColourAsync(new ColourCommand("leader", i % 2 == 0 ? Colour.Red : Colour.Yellow, $"reason {i}")));
        var imports = Enumerable.Range(3, 4).Select(size => Register.ImportAsync(city.Grid,
            [new HouseholdInput("1栋", "101", size, [], [new PersonInput("王芳", "13800000001")]), Home("1栋", "102")], "leader", $"recount {size}"));
        await Task.WhenAll([.. colours.Cast<Task>(), .. imports]);

        var after = await household.GetAsync();
        foreach (var i in Enumerable.Range(1, 8))
        {
            Assert.Single(after.Log, l => l.Kind == "colour" && l.What.EndsWith($": reason {i}", StringComparison.Ordinal));
        }

        Assert.Equal(4, after.Log.Count(l => l.Kind == "import" && l.What.StartsWith("recount", StringComparison.Ordinal)));
        Assert.Contains(after.Size, new[] { 3, 4, 5, 6 });
    }
}
