using System.Collections.Immutable;
using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Engine;

[Collection(ClusterCollection.Name)]
public sealed class EmergencyOperationTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private async Task EmergencyAsync(TestCity city, string scope, string actor = "commander")
    {
        await Grains.GetGrain<IEmergencyGrain>(scope).SwitchAsync(new ModeCommand(Mode.Emergency, "II", "typhoon", actor));
        await Eventually.Get(() => Task.WhenAll(city.Grids.Select(g => Grains.GetGrain<IGridGrain>(g).GetModeAsync())),
            modes => modes.All(m => m!.Mode == Mode.Emergency), what: "every grid in emergency");
    }

    private static string NewCampaignId() => "c" + Guid.NewGuid().ToString("N")[..12];

    private async Task<CampaignView> LaunchAsync(string scope, CampaignKind kind = CampaignKind.SweepBuildings, CampaignSchedule? schedule = null,
        string actor = "commander", string? id = null) =>
        await Grains.GetGrain<ICampaignGrain>(id ?? NewCampaignId()).LaunchAsync(new CampaignSpec(scope, kind, "sweep every building", schedule, actor));

    private Task<CampaignView> Progress(string id, Func<CampaignView, bool> until, string what) =>
        Eventually.Get(() => Grains.GetGrain<ICampaignGrain>(id).GetAsync(), until, what: what);

    private async Task<ImmutableArray<WorkerTask>> SweepTasksOf(string worker) =>
        [.. (await Grains.GetGrain<IWorkerGrain>(worker).GetAsync()).Tasks.Where(t => t.Campaign is not null)];

    [Fact]
    public async Task A_campaign_fans_out_to_every_grid_rolls_progress_up_and_lists_what_is_not_covered()
    {
        var city = TestCity.Create(communities: 2, gridsPerCommunity: 2);
        var workers = city.Grids.Select((g, i) => city.AddWorker($"w{i}", [g])).ToList();
        await city.LoadAsync(Grains);
        await EmergencyAsync(city, city.Street);

        var launched = await LaunchAsync(city.Street);
        Assert.True(launched.Emergency);
        var running = await Progress(launched.Id, c => c.Progress.Total == 16 && c.Progress.Assigned == 16, "16 building tasks assigned");
        Assert.Equal(4, running.Progress.Grids);
        Assert.Equal(3, running.ByRegion.Length);                                    // the street and its two communities
        Assert.All(running.ByRegion.Skip(1), r => Assert.Equal(8, r.Progress.Total));
        Assert.Equal(16, running.Accountability.Length);

        // Each worker got its grid's four buildings, as worker tasks that count in its load.
        foreach (var worker in workers)
        {
            var tasks = await Eventually.Get(() => SweepTasksOf(worker), t => t.Length == 4, what: $"{worker} holds four buildings");
            Assert.All(tasks, t => Assert.Equal(TaskStatus.Offered, t.Status));
        }

        var mine = (await SweepTasksOf(workers[0])).Select(t => t.IncidentId).Order().ToList();

        // Another worker cannot act on it; the assignee can, and a finding becomes an incident of its own.
        var refused = await Assert.ThrowsAsync<DomainException>(() => Grains.FinishTaskAsync(mine[0], new SweepResult(workers[1], true, null, [])));
        Assert.Equal(DomainErrors.NotAllowed, refused.Code);
        await Grains.GridOf(mine[0]).StartSweepTaskAsync(mine[0], workers[0]);
        var (done, incidents) = await Grains.FinishTaskAsync(mine[0],
            new SweepResult(workers[0], true, "all floors checked", [new Finding("0101", Severity.Routine, "blocked fire exit on floor 3")]));
        Assert.Equal(SweepTaskStatus.Done, done.Status);
        var finding = await Grains.GetGrain<IIncidentGrain>(Assert.Single(incidents)).GetAsync();
        Assert.Equal(("campaign", city.Grid), (finding.Source, finding.GridCode));
        await Grains.FinishTaskAsync(mine[1], new SweepResult(workers[0], false, "nobody answered", []));
        await Grains.FinishTaskAsync(mine[2], new SweepResult(workers[0], true, null, []));

        // Repeating a result changes nothing and reports no finding twice.
        var (again, sameIncidents) = await Grains.FinishTaskAsync(mine[0],
            new SweepResult(workers[0], true, "all floors checked", [new Finding("0101", Severity.Routine, "blocked fire exit on floor 3")]));
        Assert.Equal(incidents.ToArray(), sameIncidents.ToArray());
        Assert.Equal(["issued: sweep every building", $"assigned to {workers[0]}", "started", "done, 1 finding(s) reported"],
            again.History.Select(h => h.What));

        var progressed = await Progress(launched.Id, c => c.Progress is { Done: 2, NotReachable: 1 }, "two done and one not reachable");
        Assert.Equal(1, progressed.Progress.Findings);
        Assert.Equal(14, progressed.AccountabilityTotal);              // 13 open and 1 not reachable
        Assert.Equal(14, progressed.Accountability.Length);
        Assert.Contains(progressed.Accountability, u => u.TaskId == mine[1] && u.Status == SweepTaskStatus.NotReachable && u.Note == "nobody answered");
        Assert.DoesNotContain(progressed.Accountability, u => u.TaskId == mine[0] || u.TaskId == mine[2]);
        var community = progressed.ByRegion.Single(r => r.Code == city.Community).Progress;
        Assert.Equal((8, 2, 1), (community.Total, community.Done, community.NotReachable));
        var left = await Eventually.Get(() => SweepTasksOf(workers[0]), t => t.Length == 1, what: "finished tasks leave the worker");
        Assert.DoesNotContain(left, x => mine.Take(3).Contains(x.IncidentId));

        // Every level above rolls it up too.
        await Eventually.Get(() => Grains.GetRegion(city.Code).GetAsync(),
            c => c.Summary.Campaigns is { } p && p.TryGetValue(launched.Id, out var x) && x.Done == 2, what: "the city sees the progress");
    }

    [Fact]
    public async Task A_scheduled_campaign_issues_a_new_round_and_closes_what_the_last_one_left()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid]);
        await city.LoadAsync(Grains);
        var launched = await LaunchAsync(city.Community, schedule: new CampaignSchedule([new TimeOnly(8, 0), new TimeOnly(14, 0)]));
        Assert.False(launched.Emergency);
        Assert.NotNull(launched.NextRoundAt);
        var first = await Progress(launched.Id, c => c.Progress.Assigned == 4, "round 1 assigned");
        var oldTask = first.Accountability[0].TaskId;
        var started = first.Accountability[1].TaskId;
        await Grains.GridOf(started).StartSweepTaskAsync(started, worker);      // started, but round 2 replaces it

        ClusterFixture.Time.Advance(launched.NextRoundAt!.Value - DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1));
        var ticked = await Grains.GetGrain<ICampaignGrain>(launched.Id).TickAsync();
        Assert.Equal(2, ticked.Rounds.Length);
        var second = await Progress(launched.Id, c => c.Progress.Round == 2 && c.Progress.Assigned == 4, "round 2 assigned");
        Assert.All(second.Accountability, u => Assert.StartsWith($"{launched.Id}:2:", u.TaskId, StringComparison.Ordinal));
        var stale = await Assert.ThrowsAsync<DomainException>(() => Grains.GridOf(oldTask).StartSweepTaskAsync(oldTask, worker));
        Assert.Equal(DomainErrors.NotFound, stale.Code);
        await Eventually.Get(() => SweepTasksOf(worker), t => t.Length == 4 && t.All(x => x.IncidentId.StartsWith($"{launched.Id}:2:", StringComparison.Ordinal)),
            what: "the worker holds only round 2");
        await Grains.GetGrain<ICampaignGrain>(launched.Id).EndAsync("commander", "test over");
    }

    [Fact]
    public async Task Surge_workers_attach_by_need_or_home_and_are_released_at_stand_down()
    {
        var city = TestCity.Create(gridsPerCommunity: 3);
        city.AddWorker("a", [city.Grids[0]]);
        city.AddWorker("b", [city.Grids[0]]);
        city.AddWorker("c", [city.Grids[1]]);
        await city.LoadAsync(Grains);

        var notYet = await Assert.ThrowsAsync<DomainException>(() => Grains.GetGrain<IEmergencyGrain>(city.Street).SurgeAsync(
            new SurgeRequest(city.Street, "commander", SurgeAttach.ByNeed, [new SurgeWorker($"{city.Code}-v0", "Volunteer", WorkerKind.Volunteer, [])])));
        Assert.Equal(DomainErrors.IllegalTransition, notYet.Code);

        await EmergencyAsync(city, city.Street);
        var volunteers = Enumerable.Range(1, 3).Select(i => new SurgeWorker($"{city.Code}-v{i}", $"Volunteer {i}", WorkerKind.Volunteer, [])).ToList();
        var byNeed = await Grains.GetGrain<IEmergencyGrain>(city.Street).SurgeAsync(
            new SurgeRequest(city.Community, "commander", SurgeAttach.ByNeed, [.. volunteers]));

        // Every grid needs 1 worker by difficulty: grid 3 has none (gap 1), grid 2 has one (0), grid 1 two (−1).
        Assert.Equal([city.Grids[2], city.Grids[1], city.Grids[2]], byNeed.Placements.Select(p => p.GridCode));
        var cadre = new SurgeWorker($"{city.Code}-cadre", "Cadre", WorkerKind.Cadre, ["01"], 3, city.Grids[0]);
        var byHome = await Grains.GetGrain<IEmergencyGrain>(city.Street).SurgeAsync(new SurgeRequest(city.Street, "commander", SurgeAttach.ByHome, [cadre]));
        Assert.Equal(city.Grids[0], Assert.Single(byHome.Placements).GridCode);

        // The grid shows its normal and its surge roster.
        var grid = await Grains.GetGrain<IGridGrain>(city.Grids[2]).GetAsync();
        Assert.Equal([true, true], grid.Roster.Select(r => r.Temporary));
        await Eventually.Get(() => Grains.GetRegion(city.Street).GetAsync(), s => s.Summary.SurgeWorkers == 4, what: "the street counts 4 surge workers");

        // A permanent worker's id cannot be taken over.
        var taken = await Assert.ThrowsAsync<DomainException>(() => Grains.GetGrain<IEmergencyGrain>(city.Street).SurgeAsync(
            new SurgeRequest(city.Street, "commander", SurgeAttach.ByNeed, [new SurgeWorker($"{city.Code}-a", "Impostor", WorkerKind.Volunteer, [])])));
        Assert.Equal("workers[0].id", taken.Field);

        var calm = await Grains.GetGrain<IEmergencyGrain>(city.Street).SwitchAsync(new ModeCommand(Mode.Everyday, null, "typhoon passed", "commander"));
        var report = Assert.Single(calm.Reports);
        Assert.Equal((4, 4), (report.SurgeWorkers, report.SurgeReleased));
        foreach (var id in volunteers.Select(v => v.Id).Append(cadre.Id))
        {
            var released = await Grains.GetGrain<IWorkerGrain>(id).GetAsync();
            Assert.Equal(WorkerStatus.OffDuty, released.Status);
            Assert.NotNull(released.ReleasedAt);
        }

        Assert.All(await Task.WhenAll(city.Grids.Select(g => Grains.GetGrain<IGridGrain>(g).GetAsync())),
            g => Assert.DoesNotContain(g.Roster, r => r.Temporary));
    }

    [Fact]
    public async Task Work_moves_off_a_worker_who_goes_off_duty_without_loss_or_double_work_under_concurrent_completions()
    {
        var city = TestCity.Create(buildings: 12);
        var a = city.AddWorker("a", [city.Grid]);
        var b = city.AddWorker("b", [city.Grid]);
        await city.LoadAsync(Grains);
        var launched = await LaunchAsync(city.Grid);
        await Progress(launched.Id, c => c.Progress.Assigned == 12, "12 buildings assigned");
        var held = (await Eventually.Get(() => SweepTasksOf(a), t => t.Length == 6, what: "a holds six")).Select(t => t.IncidentId).Order().ToList();
        var gridGrain = Grains.GetGrain<IGridGrain>(city.Grid);
        await gridGrain.StartSweepTaskAsync(held[0], a);
        await gridGrain.StartSweepTaskAsync(held[1], a);

        // a goes off duty and, while the grid moves its work, keeps finishing what it held: what it started, and the
        // rest at staggered moments (some before the grid's next tick, some after). The last one waits until the move
        // has happened, so at least one finish always comes after it (on a loaded machine the tick came after 240 ms).
        var offDuty = Grains.GetGrain<IWorkerGrain>(a).SetStatusAsync(WorkerStatus.OffDuty);
        var attempts = held.Select(async (id, i) =>
        {
            await Task.Delay(i < 2 ? 0 : 60 * (i - 1));
            if (i == held.Count - 1)
            {
                await Eventually.Get(() => gridGrain.GetSweepTaskAsync(id), t => t.WorkerId == b, what: "a's last task moved to b");
            }

            try
            {
                return (id, (await Grains.FinishTaskAsync(id, new SweepResult(a, true, null, []))).Task.Status.ToString());
            }
            catch (DomainException ex)
            {
                return (id, ex.Code);
            }
        }).ToList();
        await offDuty;
        var results = await Task.WhenAll(attempts);
        Assert.Equal(SweepTaskStatus.Done.ToString(), results.Single(r => r.id == held[0]).Item2);   // started work is never moved
        Assert.Equal(SweepTaskStatus.Done.ToString(), results.Single(r => r.id == held[1]).Item2);

        // Whatever a did not finish before the move went to b: each task is with exactly one worker or done once.
        var final = await Eventually.Get(() => Task.WhenAll(held.Select(id => gridGrain.GetSweepTaskAsync(id))),
            tasks => tasks.All(t => t.Status == SweepTaskStatus.Done || t.WorkerId == b), what: "a's unfinished tasks moved to b");
        foreach (var task in final)
        {
            var doneBy = task.History.Where(h => h.What.StartsWith("done", StringComparison.Ordinal)).ToList();
            if (task.Status == SweepTaskStatus.Done)
            {
                Assert.Equal(a, Assert.Single(doneBy).Actor);
                Assert.Equal(task.TaskId, results.Single(r => r.Item2 == "Done" && r.id == task.TaskId).id);
            }
            else
            {
                Assert.Empty(doneBy);
                Assert.Contains(task.History, h => h.What.StartsWith($"moved from {a} to {b}: {a} went off duty", StringComparison.Ordinal));
                Assert.Equal(DomainErrors.NotAllowed, results.Single(r => r.id == task.TaskId).Item2);
            }
        }

        Assert.Contains(final, t => t.Status != SweepTaskStatus.Done);

        // The workers' own task lists agree with the grid: no task held twice, none lost.
        var open = final.Where(t => t.Status != SweepTaskStatus.Done).Select(t => t.TaskId).ToHashSet();
        await Eventually.Get(async () => (await SweepTasksOf(a), await SweepTasksOf(b)),
            w => w.Item1.Length == 0 && w.Item2.Select(t => t.IncidentId).Intersect(held).ToHashSet().SetEquals(open),
            what: "a holds nothing, b holds exactly the moved tasks");
    }

    [Fact]
    public async Task Unstarted_incidents_move_off_an_overloaded_worker_and_the_timeline_records_the_move()
    {
        var city = TestCity.Create();
        var a = city.AddWorker("a", [city.Grid], capacity: 3);
        await city.LoadAsync(Grains);
        var incidents = new List<IncidentView>();
        for (var i = 0; i < 3; i++)
        {
            incidents.Add(await Grains.ReportAsync(Reports.Make(city.Grid)));
        }

        Assert.All(incidents, i => Assert.Equal(a, i.Assignee!.Id));
        await Grains.Incident(incidents[0]).StartAsync(new ActorCommand(a));

        // b joins with room, then a's capacity drops to 1: a is overloaded (3 of 1) and sheds what it has not started.
        var b = $"{city.Code}-b";
        await Grains.GetGrain<IWorkerGrain>(b).RegisterAsync(new WorkerProfile(b, "b", WorkerKind.FullTime, [city.Grid], [], 10));
        await Grains.GetGrain<IWorkerGrain>(a).RegisterAsync(new WorkerProfile(a, "a", WorkerKind.FullTime, [city.Grid], [], 1));

        var moved = await Eventually.Get(() => Task.WhenAll(incidents.Select(i => Grains.Incident(i).GetAsync())),
            all => all.Count(i => i.Assignee!.Id == b) == 2, what: "two unstarted incidents moved to b");
        Assert.Equal((a, IncidentState.InProgress), (moved[0].Assignee!.Id, moved[0].State));
        foreach (var incident in moved.Skip(1))
        {
            var move = Assert.Single(incident.Timeline, e => e.Kind == IncidentEventKind.Reassigned);
            Assert.Contains($"moved off {a} (overloaded", move.Reason);
            Assert.Equal(b, move.Assignee!.Id);
        }

        var refused = await Assert.ThrowsAsync<DomainException>(() => Grains.Incident(moved[1]).StartAsync(new ActorCommand(a)));
        Assert.Equal(DomainErrors.NotAllowed, refused.Code);
        await Eventually.Get(async () => (await Grains.GetGrain<IWorkerGrain>(a).GetAsync(), await Grains.GetGrain<IWorkerGrain>(b).GetAsync()),
            w => w.Item1.Tasks.Length == 1 && w.Item2.Tasks.Length == 2, what: "each task is held by one worker");
    }

    [Fact]
    public async Task Switching_back_drains_emergency_work_reverts_policy_and_reports_the_episode()
    {
        var city = TestCity.Create();
        var worker = city.AddWorker("w", [city.Grid]);
        var staff = city.AddWorker("staff", [city.Community], capacity: 100);
        await city.LoadAsync(Grains);
        await EmergencyAsync(city, city.Street);
        var volunteer = new SurgeWorker($"{city.Code}-vol", "Volunteer", WorkerKind.Volunteer, [], 5);
        await Grains.GetGrain<IEmergencyGrain>(city.Street).SurgeAsync(new SurgeRequest(city.Street, "commander", SurgeAttach.ByNeed, [volunteer]));

        var sweep = await LaunchAsync(city.Street);
        var assigned = await Progress(sweep.Id, c => c.Progress.Assigned == 4, "four buildings assigned");
        var byWorker = assigned.Accountability.Where(u => u.WorkerId == worker).Select(u => u.TaskId).ToList();
        await Grains.FinishTaskAsync(byWorker[0], new SweepResult(worker, true, null, []));
        var inProgress = assigned.Accountability.First(u => u.TaskId != byWorker[0]);
        await Grains.GridOf(inProgress.TaskId).StartSweepTaskAsync(inProgress.TaskId, inProgress.WorkerId!);
        await Progress(sweep.Id, c => c.Progress is { Done: 1, InProgress: 1 }, "one done, one in progress");
        await Eventually.Get(() => Grains.GetGrain<IEmergencyGrain>(city.Street).GetAsync(), e => e.Peaks.Samples > 0, what: "load sampled");

        var calm = await Grains.GetGrain<IEmergencyGrain>(city.Street).SwitchAsync(new ModeCommand(Mode.Everyday, null, "all clear", "commander"));
        Assert.False(calm.Active);
        var report = Assert.Single(calm.Reports);
        Assert.Equal((4, 1, 2), (report.Tasks, report.TasksDone, report.TasksClosedAtStandDown));
        Assert.Equal(0.25, report.Coverage);
        Assert.Equal(sweep.Id, Assert.Single(report.Campaigns).Id);
        Assert.True(report.Peaks.Samples > 0 && report.Peaks.MaxLoad > 0, $"peaks {report.Peaks}");
        Assert.Equal(("II", "typhoon", "all clear"), (report.Level, report.Reason, report.EndReason));

        // Unstarted tasks were closed with the reason; the one in progress may still finish.
        var ended = await Progress(sweep.Id, c => c.Progress is { Closed: 2, InProgress: 1 }, "two closed, one still in progress");
        Assert.Equal(CampaignStatus.Ended, ended.Status);
        Assert.All(ended.Accountability.Where(u => u.Status == SweepTaskStatus.Closed), u => Assert.Equal("stand-down of " + city.Street + ": all clear", u.Note));
        await Grains.FinishTaskAsync(inProgress.TaskId, new SweepResult(inProgress.WorkerId!, true, null, []));
        await Progress(sweep.Id, c => c.Progress is { Done: 2, Closed: 2, Open: 0 }, "the started task finished after stand-down");

        // Policies revert: with the grid's worker off duty, a volunteer is no longer dispatched (it was released anyway) —
        // the everyday chain passes to the community's staff.
        await Eventually.Get(() => Grains.GetGrain<IGridGrain>(city.Grid).GetModeAsync(), m => m!.Mode == Mode.Everyday, what: "grid back to everyday");
        await Grains.GetGrain<IWorkerGrain>(worker).SetStatusAsync(WorkerStatus.OffDuty);
        var after = await Grains.ReportAsync(Reports.Make(city.Grid));
        Assert.Equal(staff, after.Assignee!.Id);
        Assert.Equal(Mode.Everyday, after.Timeline.Single(e => e.Kind == IncidentEventKind.Accepted).Mode);
    }

    [Fact]
    public async Task Commands_are_refused_to_someone_not_entitled_and_change_nothing()
    {
        var city = TestCity.Create();
        await city.LoadAsync(Grains);

        var nobody = await Assert.ThrowsAsync<DomainException>(() =>
            Grains.GetGrain<IEmergencyGrain>(city.Street).SwitchAsync(new ModeCommand(Mode.Emergency, "I", "drill", "resident-1")));
        Assert.Equal((DomainErrors.NotAllowed, "actor"), (nobody.Code, nobody.Field));
        var elsewhere = await Assert.ThrowsAsync<DomainException>(() =>
            Grains.GetGrain<IEmergencyGrain>(city.District).SwitchAsync(new ModeCommand(Mode.Emergency, "I", "drill", "commander-elsewhere")));
        Assert.Equal(DomainErrors.NotAllowed, elsewhere.Code);
        var campaign = await Assert.ThrowsAsync<DomainException>(() => LaunchAsync(city.Street, actor: "commander-elsewhere"));
        Assert.Equal(DomainErrors.NotAllowed, campaign.Code);

        var street = await Grains.GetGrain<IStreetGrain>(city.Street).GetAsync();
        Assert.True(street.ModeHistory.IsEmpty);
        Assert.Equal(Mode.Everyday, street.Summary.Mode!.Mode);
        Assert.False((await Grains.GetGrain<IEmergencyGrain>(city.Street).GetAsync()).Active);
        Assert.Empty(await Grains.GetGrain<IOperationsDirectoryGrain>(city.Code).CampaignsAsync(city.Code));
    }
}
