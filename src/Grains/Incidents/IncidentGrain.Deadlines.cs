namespace GridDispatch.Incidents;

/// <summary>
/// The deadline schedule. Deadlines are data: every append records the incident's next due time, which its shard's
/// <see cref="DeadlineSweepGrain"/> finds when it passes and wakes the incident (seconds late at most, also after a
/// silo died); while the grain is active a one-shot timer fires at the exact instant. Handling is idempotent (a
/// deadline may be woken twice). What each deadline does when it passes.
/// </summary>
public sealed partial class IncidentGrain
{
    public Task<IncidentView> CheckDeadlinesAsync() => Run(async () =>
    {
        var now = _now;
        foreach (var (kind, due) in S.Deadlines.OrderBy(d => d.Value).ToList())
        {
            if (due > now || !S.Deadlines.TryGetValue(kind, out var current) || current != due)
            {
                continue;
            }

            await OnDeadlineAsync(kind, due);
        }

        await CommitAsync();
    });

    public async Task WakeAsync(DateTimeOffset dueAt)
    {
        // Stored as the due time but none of the deadlines (a tell's deadline stays until its time, heard or not): an
        // earlier activation's tell, which may have ended before it was heard.
        if (S.Exists && !S.Deadlines.Values.Any(d => SameInstant(d, dueAt)))
        {
            TellEverything();
        }

        if (S.Exists && S.Deadlines.Count > 0)
        {
            await CheckDeadlinesAsync();
        }
    }

    /// <summary>
    /// Only incidents stored before deadlines became data have a reminder. At its first firing the incident's deadlines
    /// are checked and its next due time is recorded in the timeline (if no append did so already); then it goes.
    /// </summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (S.Exists && S.Deadlines.Count > 0)
        {
            await CheckDeadlinesAsync();
            if (!_appended && S.Deadlines.Count > 0)
            {
                await Run(async () =>
                {
                    _recordedDue = null;
                    _rescheduleReason = "next deadline recorded as data (replacing the incident's reminder)";
                    _dirty = true;
                    await CommitAsync();
                });
            }
        }

        if (await this.GetReminder(reminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task OnDeadlineAsync(DeadlineKind kind, DateTimeOffset due)
    {
        switch (kind)
        {
            case DeadlineKind.TaskAcceptance when S.State == IncidentState.Dispatched && !S.Acknowledged:
                Emit(IncidentEventKind.AcceptanceTimedOut, SystemActor, $"{S.Assignee} did not acknowledge by {due:u}");
                await RouteAsync();
                break;
            case DeadlineKind.Handle when S.State is IncidentState.Accepted or IncidentState.Dispatched or IncidentState.InProgress:
                Emit(IncidentEventKind.DeadlineMissed, SystemActor, $"{S.Level} {S.LevelCode} did not resolve it by {due:u}",
                    level: S.Level, unit: S.LevelCode, deadline: kind);
                LogDeadlineMissed(Id, S.Level, S.LevelCode);
                if (S.Level < RegionLevel.City)
                {
                    EscalateOneLevel(SystemActor, "handling deadline passed");
                    await RouteAsync();
                }

                break;
            case DeadlineKind.Accept when S.State == IncidentState.Reported:
            case DeadlineKind.Verify when S.State == IncidentState.Resolved:
                Emit(IncidentEventKind.DeadlineMissed, SystemActor, $"{kind} deadline passed at {due:u}", deadline: kind);
                break;
            case DeadlineKind.Rating when S.State == IncidentState.Verified:
                Emit(IncidentEventKind.Closed, SystemActor, "archived unrated: the rating window passed");
                break;
            case DeadlineKind.Tell:
                await OnTellDueAsync();
                break;
            case DeadlineKind.RouteRetry:
                S.Deadlines.Remove(kind);
                _dirty = true;
                if (S.State == IncidentState.Accepted && S.Assignee is null && S.QueuedAt is null)
                {
                    await RouteAsync();
                }

                break;
            default:
                // A deadline whose step is over (kept by an older version of the rules): drop it.
                S.Deadlines.Remove(kind);
                _dirty = true;
                break;
        }
    }

    /// <summary>The deadline that comes first, if any: its time is what a commit records as the next due time.</summary>
    private (DeadlineKind Kind, DateTimeOffset At)? NextDeadline()
    {
        (DeadlineKind Kind, DateTimeOffset At)? next = null;
        foreach (var (kind, at) in S.Deadlines)
        {
            if (next is null || at < next.Value.At)
            {
                next = (kind, at);
            }
        }

        return next;
    }

    /// <summary>
    /// Before a commit: a next deadline that moved while no entry is pending (a routing retry, a tell tried again) is
    /// recorded as a <see cref="IncidentEventKind.Rescheduled"/> entry, so the due time in the timeline stays the one the
    /// grain keeps. A finished incident records none (its state takes no more entries): a tell it keeps failing to
    /// deliver is retried by its timer while it is active, and told again at its next activation within the horizon.
    /// </summary>
    /// <summary>The store keeps microseconds, the grain ticks: times within a millisecond are the same due time.</summary>
    private static bool SameInstant(DateTimeOffset a, DateTimeOffset b) => Math.Abs((a - b).Ticks) < TimeSpan.TicksPerMillisecond;

    private void ReadRecordedDue() =>
        (_recordedDue, _recordedDueExact) = Timeline.StoredDueKnown ? (Timeline.StoredDue, true) : (NextDeadline()?.At, false);

    private void RecordMovedDeadline()
    {
        if (!Timeline.HasPending && !IncidentRules.IsTerminal(S.State) && NextDeadline() is { } next
            && !(_recordedDue is { } recorded && SameInstant(recorded, next.At)))
        {
            Emit(IncidentEventKind.Rescheduled, SystemActor, _rescheduleReason ?? $"next deadline: {next.Kind} at {next.At:u}",
                until: next.At, deadline: next.Kind);
        }

        _rescheduleReason = null;
    }

    private void ArmTimer()
    {
        _timer?.Dispose();
        _timer = null;
        if (S.Deadlines.Count == 0)
        {
            return;
        }

        var delay = DelayUntil(S.Deadlines.Values.Min());
        _timer = this.RegisterGrainTimer(static (self, _) => self.OnTimerAsync(), this,
            new GrainTimerCreationOptions(delay < MaxTimerDelay ? delay : MaxTimerDelay, Timeout.InfiniteTimeSpan));
    }

    private async Task OnTimerAsync()
    {
        try
        {
            await CheckDeadlinesAsync();

            // A timer counts whole milliseconds on its own clock, so it can fire a moment before the due time: then
            // nothing was due, nothing was committed, and the timer must be armed again or the deadline waits for
            // the sweeper (which a finished incident's retried tell never reaches again).
            ArmTimer();
        }
        catch (Exception ex)
        {
            LogDeadlineCheckFailed(ex, Id);
        }
    }

    /// <summary>Rounded up to the next whole millisecond and one more, so the timer does not fire before the due time.</summary>
    private TimeSpan DelayUntil(DateTimeOffset at)
    {
        var delay = at - clock.Now;
        return delay > TimeSpan.Zero
            ? TimeSpan.FromMilliseconds(Math.Ceiling(delay.TotalMilliseconds) + 1)
            : TimeSpan.Zero;
    }
}
