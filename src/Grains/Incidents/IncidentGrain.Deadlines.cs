namespace GridDispatch.Incidents;

/// <summary>The deadline schedule: durable reminders (1-minute resolution, may fire twice: handling is idempotent) plus, while the grain is active, a one-shot timer at the exact instant; what each deadline does when it passes.</summary>
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

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!S.Exists || S.Deadlines.Count == 0)
        {
            await UnregisterReminderAsync();
            return;
        }

        await CheckDeadlinesAsync();
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

    /// <summary>
    /// Deadlines are durable reminders (1-minute resolution, survive restarts, may fire twice: handling is idempotent)
    /// plus, while the grain is active, a one-shot timer at the exact instant.
    /// </summary>
    private async Task SyncDeadlinesAsync()
    {
        ArmTimer();
        if (S.Deadlines.Count == 0)
        {
            await UnregisterReminderAsync();
            return;
        }

        var next = S.Deadlines.Values.Min();
        if (S.ReminderDueAt != next)
        {
            await this.RegisterOrUpdateReminder(ReminderName, DelayUntil(next), ReminderPeriod);
            S.ReminderDueAt = next;
        }
    }

    private async Task UnregisterReminderAsync()
    {
        if (S.ReminderDueAt is null)
        {
            return;
        }

        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        S.ReminderDueAt = null;
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
        }
        catch (Exception ex)
        {
            LogDeadlineCheckFailed(ex, Id);
        }
    }

    private TimeSpan DelayUntil(DateTimeOffset at)
    {
        var delay = at - clock.Now;
        return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
    }
}
