namespace GridDispatch.Domain;

/// <summary>
/// Batches a grain's upward pushes: marking it dirty arms one one-shot grain timer; when it fires, the grain flushes
/// once however many changes came in between. An idle grain carries no timer at all.
/// </summary>
public sealed class RollupSchedule(IGrainBase grain, TimeSpan interval, Func<Task> flush)
{
    private IGrainTimer? _timer;

    public bool Dirty { get; private set; }

    public void MarkDirty()
    {
        Dirty = true;
        _timer ??= grain.RegisterGrainTimer(static (self, _) => self.TickAsync(), this,
            new GrainTimerCreationOptions(interval, Timeout.InfiniteTimeSpan));
    }

    /// <summary>Flushes now if anything is pending (on deactivation, for example).</summary>
    public async Task FlushAsync()
    {
        _timer?.Dispose();
        _timer = null;
        if (!Dirty)
        {
            return;
        }

        Dirty = false;
        try
        {
            await flush();
        }
        catch (Exception ex) when (grain.EndsActivation(ex))
        {
            // Another activation wrote this grain's state: this copy is stale and ends (the next one reads afresh).
        }
        catch
        {
            // Keep the change pending so the next tick tries again; the timer logs the failure.
            MarkDirty();
            throw;
        }
    }

    private Task TickAsync() => FlushAsync();
}
