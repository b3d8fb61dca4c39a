namespace GridDispatch.Domain;

/// <summary>
/// One grain's state writes, one at a time, shared by whoever asks while one is in progress: the callers that come
/// during a write all wait for the next one, which stores every change they made. A department that held 4,000
/// incidents serialized its whole queue once per hold (a tenth of the process's CPU at 200 reports/s in the live
/// bench); with holds interleaved and sharing writes it pays one serialization per write, however many holds came.
/// Every write of the state must go through here (two writes of one state at once would conflict on its version).
/// Grain-turn only: not thread-safe, as grain code is not.
/// </summary>
public sealed class SharedWrite(Func<Task> write)
{
    private Task? _current;
    private Task? _next;

    /// <summary>Completes once a write that began after this call has stored the state; fails if that write fails.</summary>
    public Task WriteAsync()
    {
        if (_current is null || _current.IsCompleted)
        {
            return _current = write();
        }

        return _next ??= AfterCurrentAsync(_current);
    }

    private async Task AfterCurrentAsync(Task current)
    {
        try
        {
            await current;
        }
        catch
        {
            // The write in progress failed for its own callers; this one is tried on its own.
        }

        _next = null;   // whoever comes from now on changed the state after this write began: they wait for another
        var mine = write();
        _current = mine;
        await mine;
    }
}
