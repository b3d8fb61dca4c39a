using GridDispatch.Domain;

namespace GridDispatch.Incidents;

/// <summary>
/// The pure part of an incident's commands: given the state, a command and the instant, the checks the command must
/// pass and the timeline entries it makes — no Orleans, no I/O, no routing, so every rule here is tested without a
/// cluster. A refusal throws before any entry exists. Entries are numbered after the state's timeline and are not
/// applied: the grain applies them, then routes (where the command hands the incident on), stores and tells.
/// </summary>
public sealed class IncidentDecider(DispatchOptions options, CategoryCatalog catalog, DeadlinePolicy deadlines)
{
    public const string SystemActor = "system";

    /// <summary>
    /// A step of whoever holds the task — acknowledge, start, resolve, decline, hand back: the assigned worker, or an
    /// officer of the department it is with. Who comes before what: anyone else is refused as such, whatever the state
    /// (the task may just have moved on).
    /// </summary>
    public IReadOnlyList<TimelineEntry> WorkerStep(IncidentRecord s, IncidentEventKind kind, ActorCommand command, DateTimeOffset now)
    {
        RequireActor(command, reasonRequired: kind == IncidentEventKind.HandedBack);
        RequireExists(s);
        if (Replayed(s, command, kind))
        {
            return [];
        }

        RequireAssignee(s, command);
        Expect(s, kind);
        var until = kind == IncidentEventKind.Resolved ? deadlines.Due(now, catalog.Get(s.R.Category).VerifyLimit, s.R.Severity) : (DateTimeOffset?)null;
        return [Entry(s, 1, s.State, now, command.Actor, kind, command.Reason, until: until) with { Photos = command.Photos, Key = command.Key }];
    }

    /// <summary>A supervisor's or leader's step: verify, return for rework, close, cancel.</summary>
    public IReadOnlyList<TimelineEntry> Step(IncidentRecord s, IncidentEventKind kind, ActorCommand command, DateTimeOffset now)
    {
        RequireActor(command, reasonRequired: kind is IncidentEventKind.ReturnedForRework or IncidentEventKind.Cancelled);
        if (s.Exists && Replayed(s, command, kind))
        {
            return [];
        }

        Expect(s, kind);
        DateTimeOffset? until = kind switch
        {
            IncidentEventKind.Verified => now + options.RatingWindow,
            IncidentEventKind.ReturnedForRework => deadlines.HandleDue(now, catalog.Get(s.R.Category), s.R.Severity, s.Level, options.PolicyFor(s.AcceptedMode)),
            _ => null,
        };
        return [Entry(s, 1, s.State, now, command.Actor, kind, command.Reason, until: until) with { Photos = command.Photos, Key = command.Key }];
    }

    /// <summary>
    /// The reporter rates; only an incident without one (hotline, patrol, sensor) is rated by a supervisor for the
    /// resident. With <see cref="DispatchOptions.ArchiveAfterRating"/> the rating closes the case too.
    /// </summary>
    public IReadOnlyList<TimelineEntry> Rate(IncidentRecord s, RateCommand command, DateTimeOffset now)
    {
        RequireActor(new ActorCommand(command.Actor));
        if (s.Exists && Replayed(s, new ActorCommand(command.Actor, Key: command.Key), IncidentEventKind.Rated))
        {
            return [];
        }

        Expect(s, IncidentEventKind.Rated);
        if (command.Stars is < 1 or > 5)
        {
            throw new DomainException(DomainErrors.InvalidInput, "Stars must be from 1 to 5", "stars");
        }

        var reporter = s.R.Reporter?.Id is { Length: > 0 } id ? id : null;
        var byReporter = reporter is not null && reporter == command.Actor;
        if (reporter is not null && !byReporter)
        {
            throw new DomainException(DomainErrors.NotAllowed, "Only the reporter may rate this incident", "actor");
        }

        if (reporter is null && !command.OnBehalfOfReporter)
        {
            throw new DomainException(DomainErrors.NotAllowed,
                "This incident has no reporter to rate it: a supervisor may record the resident's rating on their behalf", "actor");
        }

        var stamp = byReporter ? command.Comment
            : command.Comment is { Length: > 0 } comment ? $"recorded on behalf of the reporter: {comment}" : "recorded on behalf of the reporter";
        var rated = Entry(s, 1, s.State, now, command.Actor, IncidentEventKind.Rated, stamp, stars: command.Stars) with { Key = command.Key };
        return options.ArchiveAfterRating
            ? [rated, Entry(s, 2, rated.To, now, SystemActor, IncidentEventKind.Closed, "archived after rating")]
            : [rated];
    }

    /// <summary>Deferred with a reason, optionally until a time in the future; the handling clock stops.</summary>
    public IReadOnlyList<TimelineEntry> Defer(IncidentRecord s, DeferCommand command, DateTimeOffset now)
    {
        RequireActor(new ActorCommand(command.Actor, command.Reason), reasonRequired: true);
        Expect(s, IncidentEventKind.Deferred);
        if (command.Until is { } until && until <= now)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A deferral must end in the future", "until");
        }

        return [Entry(s, 1, s.State, now, command.Actor, IncidentEventKind.Deferred, command.Reason, until: command.Until)];
    }

    /// <summary>Resumed: the handling deadline gets back the time that was left when it was deferred (routing follows).</summary>
    public IReadOnlyList<TimelineEntry> Resume(IncidentRecord s, ActorCommand command, DateTimeOffset now)
    {
        RequireActor(command);
        Expect(s, IncidentEventKind.Resumed);
        var deferredAt = s.Timeline.Last(e => e.Kind == IncidentEventKind.Deferred).At;
        var due = s.HandleDueWhenDeferred is { } handleDue
            ? deadlines.Resume(now, deadlines.Remaining(deferredAt, handleDue, s.R.Severity), s.R.Severity)
            : deadlines.HandleDue(now, catalog.Get(s.R.Category), s.R.Severity, s.Level, options.PolicyFor(s.AcceptedMode));
        return [Entry(s, 1, s.State, now, command.Actor, IncidentEventKind.Resumed, command.Reason, until: due)];
    }

    /// <summary>Escalated by hand, with a reason, one level up (routing from there follows); the city has no level above.</summary>
    public IReadOnlyList<TimelineEntry> Escalate(IncidentRecord s, ActorCommand command, DateTimeOffset now)
    {
        RequireActor(command, reasonRequired: true);
        Expect(s, IncidentEventKind.Escalated);
        if (s.Level == RegionLevel.City)
        {
            throw new DomainException(DomainErrors.IllegalTransition, "The incident is already at city level; there is no level above");
        }

        return [Escalation(s, command.Actor, command.Reason!, now)];
    }

    /// <summary>The entry that moves the incident one level up, with that level's handling deadline.</summary>
    public TimelineEntry Escalation(IncidentRecord s, string actor, string reason, DateTimeOffset now)
    {
        var next = s.Level + 1;
        return Entry(s, 1, s.State, now, actor, IncidentEventKind.Escalated, reason, level: next, unit: RegionCode.AncestorAt(s.R.GridCode, next),
            until: deadlines.HandleDue(now, catalog.Get(s.R.Category), s.R.Severity, next, options.PolicyFor(s.AcceptedMode)));
    }

    /// <summary>A report's own fields: known category and severity, a grid code's shape, lengths, a valid location.</summary>
    public void ValidateReport(IncidentReport r)
    {
        if (!catalog.TryGet(r.Category, out _))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown category '{r.Category}'", "category");
        }

        if (!Enum.IsDefined(r.Severity))
        {
            throw new DomainException(DomainErrors.InvalidInput, $"Unknown severity '{r.Severity}'", "severity");
        }

        if (!RegionCode.IsValid(r.GridCode, RegionLevel.Grid))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A grid code has 15 digits", "gridCode");
        }

        if (string.IsNullOrWhiteSpace(r.Description) || r.Description.Length > 4000)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A description of 1–4000 characters is required", "description");
        }

        Identifiers.RequirePhotos(r.Photos);
        if (string.IsNullOrWhiteSpace(r.Source) || r.Source.Length > 64)
        {
            throw new DomainException(DomainErrors.InvalidInput, "A source of 1–64 characters is required", "source");
        }

        if (r.ExternalId is { Length: > 128 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The external id is longer than 128 characters", "externalId");
        }

        if (r.Location is { IsValid: false })
        {
            throw new DomainException(DomainErrors.InvalidInput, "Latitude must be within ±90 and longitude within ±180", "location");
        }

        RequireActor(new ActorCommand(r.Actor));
    }

    public static void RequireActor(ActorCommand command, bool reasonRequired = false)
    {
        if (string.IsNullOrWhiteSpace(command.Actor) || command.Actor.Length > 128)
        {
            throw new DomainException(DomainErrors.InvalidInput, "An actor (1–128 characters) is required", "actor");
        }

        if (reasonRequired && string.IsNullOrWhiteSpace(command.Reason))
        {
            throw new DomainException(DomainErrors.InvalidInput, "A reason is required for this step", "reason");
        }

        if (command.Reason is { Length: > 4000 })
        {
            throw new DomainException(DomainErrors.InvalidInput, "The reason is longer than 4000 characters", "reason");
        }

        Identifiers.RequirePhotos(command.Photos);
    }

    /// <summary>
    /// The step was made already under the same key by the same actor: it is answered with the incident as it is. The
    /// same key on another step is a conflict, never a silent no-op.
    /// </summary>
    private static bool Replayed(IncidentRecord s, ActorCommand command, IncidentEventKind kind)
    {
        if (command.Key is not { } key || s.Timeline.FirstOrDefault(e => e.Key == key && e.Actor == command.Actor) is not { } made)
        {
            return false;
        }

        return made.Kind == kind
            ? true : throw new DomainException(DomainErrors.Conflict, $"This Idempotency-Key was used for another step ({made.Kind})", "Idempotency-Key");
    }

    /// <summary>The incident exists and <paramref name="kind"/> may follow its state.</summary>
    public static void Expect(IncidentRecord s, IncidentEventKind kind)
    {
        RequireExists(s);
        IncidentRules.Next(kind, s.State);
    }

    private static void RequireExists(IncidentRecord s)
    {
        if (!s.Exists)
        {
            throw new DomainException(DomainErrors.NotFound, "No such incident");
        }
    }

    private static void RequireAssignee(IncidentRecord s, ActorCommand command)
    {
        switch (s.Assignee)
        {
            case { Kind: AssigneeKind.Worker } worker when worker.Id != command.Actor:
                throw new DomainException(DomainErrors.NotAllowed, $"Only the assigned worker ({worker.Id}) may do this", "actor");
            case { Kind: AssigneeKind.Department } department when department.Id != command.Department:
                throw new DomainException(DomainErrors.NotAllowed, $"Only an officer of department {department.Id} may do this", "actor");
        }
    }

    /// <summary>The <paramref name="nth"/> entry after the state's timeline, moving on from <paramref name="from"/>.</summary>
    private static TimelineEntry Entry(IncidentRecord s, int nth, IncidentState from, DateTimeOffset now, string actor, IncidentEventKind kind,
        string? reason, RegionLevel? level = null, string? unit = null, int? stars = null, DateTimeOffset? until = null) =>
        new(s.Timeline.Count + nth, now, actor, kind, from, IncidentRules.Next(kind, from), reason, level, unit, null, stars, until);
}
