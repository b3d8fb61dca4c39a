namespace GridDispatch.Domain;

/// <summary>
/// The clock of the domain (deadlines, timelines). It wraps an injected <see cref="TimeProvider"/>, kept apart from the
/// one Orleans itself runs on, so tests can move domain time without stopping the runtime's own timers.
/// </summary>
public sealed class EngineClock(TimeProvider time)
{
    public TimeProvider Time { get; } = time;

    public DateTimeOffset Now => Time.GetUtcNow();
}
