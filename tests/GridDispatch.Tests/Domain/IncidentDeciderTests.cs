using GridDispatch.Domain;
using GridDispatch.Incidents;
using Microsoft.Extensions.Options;

namespace GridDispatch.Tests.Domain;

/// <summary>The incident's rules as a pure function: state + command + instant → entries, or a refusal; no cluster.</summary>
public sealed class IncidentDeciderTests
{
    private const string Grid = "449901001001001";
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.FromHours(8));

    private static readonly DispatchOptions Options = new();

    private static readonly IncidentDecider Decider = new(Options, new CategoryCatalog(Microsoft.Extensions.Options.Options.Create(new CatalogOptions())),
        new DeadlinePolicy(new WorkingCalendar(new CalendarOptions()), Microsoft.Extensions.Options.Options.Create(Options)));

    /// <summary>Reported, accepted and dispatched to <paramref name="worker"/>, folded as the grain folds its timeline.</summary>
    private static IncidentRecord Dispatched(string worker = "w-1", string? reporter = "resident-1")
    {
        var s = new IncidentRecord();
        var report = new IncidentReport("0101", Severity.Routine, Grid, "Rubbish at the gate", "test", "x-1",
            reporter is null ? null : new Reporter(reporter, null, null, null));
        s.Apply(new TimelineEntry(1, T0, "intake", IncidentEventKind.Reported, IncidentState.Reported, IncidentState.Reported, Report: report));
        s.Apply(new TimelineEntry(2, T0, "system", IncidentEventKind.Accepted, IncidentState.Reported, IncidentState.Accepted, Until: T0.AddDays(1)));
        s.Apply(new TimelineEntry(3, T0, "system", IncidentEventKind.Dispatched, IncidentState.Accepted, IncidentState.Dispatched,
            Level: RegionLevel.Grid, UnitCode: Grid, Assignee: Assignee.Worker(worker), Until: T0.AddMinutes(30)));
        return s;
    }

    private static IncidentRecord Apply(IncidentRecord s, IReadOnlyList<TimelineEntry> entries)
    {
        foreach (var e in entries)
        {
            s.Apply(e);
        }

        return s;
    }

    [Fact]
    public void A_worker_step_by_anyone_but_the_assignee_is_refused_before_any_entry_whatever_the_state()
    {
        var s = Dispatched();

        var refused = Assert.Throws<DomainException>(() => Decider.WorkerStep(s, IncidentEventKind.WorkStarted, new ActorCommand("w-2"), T0));
        Assert.Equal((DomainErrors.NotAllowed, "actor"), (refused.Code, refused.Field));

        // Who before what: resolving an incident not yet started is illegal, but a stranger hears only that it is not theirs.
        Assert.Equal(DomainErrors.NotAllowed, Assert.Throws<DomainException>(() => Decider.WorkerStep(s, IncidentEventKind.Resolved, new ActorCommand("w-2"), T0)).Code);
        Assert.Equal(DomainErrors.IllegalTransition, Assert.Throws<DomainException>(() => Decider.WorkerStep(s, IncidentEventKind.Resolved, new ActorCommand("w-1"), T0)).Code);
        Assert.Equal(3, s.Timeline.Count);
    }

    [Fact]
    public void Steps_number_their_entries_after_the_timeline_and_set_the_next_deadline()
    {
        var s = Dispatched();
        var started = Decider.WorkerStep(s, IncidentEventKind.WorkStarted, new ActorCommand("w-1"), T0.AddMinutes(5));
        Assert.Equal((4, IncidentState.Dispatched, IncidentState.InProgress), (started[0].Seq, started[0].From, started[0].To));
        Apply(s, started);

        var resolved = Decider.WorkerStep(s, IncidentEventKind.Resolved, new ActorCommand("w-1", "swept"), T0.AddHours(1));
        Assert.Equal(IncidentEventKind.Resolved, resolved.Single().Kind);
        Assert.True(resolved[0].Until > T0.AddHours(1), "resolving sets the verification deadline");
        Apply(s, resolved);

        var verified = Decider.Step(s, IncidentEventKind.Verified, new ActorCommand("supervisor"), T0.AddHours(2));
        Assert.Equal(T0.AddHours(2) + Options.RatingWindow, verified.Single().Until);
    }

    [Fact]
    public void Only_the_reporter_rates_and_a_rating_archives_the_case()
    {
        var s = Dispatched();
        foreach (var (kind, actor) in new[] { (IncidentEventKind.WorkStarted, "w-1"), (IncidentEventKind.Resolved, "w-1") })
        {
            Apply(s, Decider.WorkerStep(s, kind, new ActorCommand(actor), T0));
        }

        Apply(s, Decider.Step(s, IncidentEventKind.Verified, new ActorCommand("supervisor"), T0));

        Assert.Equal(DomainErrors.NotAllowed, Assert.Throws<DomainException>(() => Decider.Rate(s, new RateCommand("someone-else", 5), T0)).Code);
        Assert.Equal("stars", Assert.Throws<DomainException>(() => Decider.Rate(s, new RateCommand("resident-1", 6), T0)).Field);

        var rated = Decider.Rate(s, new RateCommand("resident-1", 4, "quick"), T0);
        Assert.Equal([(7, IncidentEventKind.Rated, IncidentState.Rated), (8, IncidentEventKind.Closed, IncidentState.Closed)],
            rated.Select(e => (e.Seq, e.Kind, e.To)));
        Assert.Equal(rated[0].To, rated[1].From);
        Assert.Equal(4, rated[0].Stars);
    }

    [Fact]
    public void Without_a_reporter_only_a_rating_recorded_on_their_behalf_is_taken_and_stamped_so()
    {
        var s = Dispatched(reporter: null);
        Apply(s, Decider.WorkerStep(s, IncidentEventKind.WorkStarted, new ActorCommand("w-1"), T0));
        Apply(s, Decider.WorkerStep(s, IncidentEventKind.Resolved, new ActorCommand("w-1"), T0));
        Apply(s, Decider.Step(s, IncidentEventKind.Verified, new ActorCommand("supervisor"), T0));

        Assert.Equal(DomainErrors.NotAllowed, Assert.Throws<DomainException>(() => Decider.Rate(s, new RateCommand("supervisor", 3), T0)).Code);
        var rated = Decider.Rate(s, new RateCommand("supervisor", 3, "by phone", OnBehalfOfReporter: true), T0);
        Assert.Equal("recorded on behalf of the reporter: by phone", rated[0].Reason);
    }

    [Fact]
    public void Refusals_name_the_field_and_leave_the_state_alone()
    {
        var s = Dispatched();
        Assert.Equal("reason", Assert.Throws<DomainException>(() => Decider.WorkerStep(s, IncidentEventKind.HandedBack, new ActorCommand("w-1"), T0)).Field);
        Assert.Equal("reason", Assert.Throws<DomainException>(() => Decider.Step(s, IncidentEventKind.Cancelled, new ActorCommand("leader", " "), T0)).Field);
        Assert.Equal("until", Assert.Throws<DomainException>(() => Decider.Defer(s, new DeferCommand("leader", "owner away", T0.AddMinutes(-1)), T0)).Field);
        Assert.Equal("actor", Assert.Throws<DomainException>(() => Decider.Step(s, IncidentEventKind.Closed, new ActorCommand(new string('a', 129)), T0)).Field);
        Assert.Equal(DomainErrors.NotFound, Assert.Throws<DomainException>(() => Decider.Step(new IncidentRecord(), IncidentEventKind.Closed, new ActorCommand("leader"), T0)).Code);
        Assert.Equal((3, IncidentState.Dispatched), (s.Timeline.Count, s.State));
    }

    [Fact]
    public void Escalation_moves_one_level_up_with_that_levels_deadline_and_stops_at_the_city()
    {
        var s = Dispatched();
        var up = Decider.Escalate(s, new ActorCommand("leader", "needs the street's powers"), T0).Single();
        Assert.Equal((RegionLevel.Community, RegionCode.AncestorAt(Grid, RegionLevel.Community)), (up.Level, up.UnitCode));
        Assert.NotNull(up.Until);

        for (var level = RegionLevel.Grid; level < RegionLevel.City; level++)
        {
            Apply(s, [Decider.Escalation(s, "system", "passed up", T0)]);
        }

        Assert.Equal(RegionLevel.City, s.Level);
        Assert.Equal(DomainErrors.IllegalTransition,
            Assert.Throws<DomainException>(() => Decider.Escalate(s, new ActorCommand("leader", "higher"), T0)).Code);
    }

    [Fact]
    public void A_deferral_keeps_the_handling_time_left_for_the_resume()
    {
        var s = Dispatched();
        var handleDue = s.Deadlines[DeadlineKind.Handle];
        Apply(s, Decider.Defer(s, new DeferCommand("leader", "waiting for the owner"), T0));
        Assert.DoesNotContain(DeadlineKind.Handle, s.Deadlines.Keys);

        var resumed = Decider.Resume(s, new ActorCommand("leader", "owner back"), T0.AddDays(2)).Single();
        Assert.True(resumed.Until > T0.AddDays(2), $"resumed with {resumed.Until}, deferred with {handleDue} due");
    }
}
