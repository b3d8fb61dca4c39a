using Orleans.Storage;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Grain-state operations with at most <c>inFlight</c> in progress at once; the rest wait their turn in order.
/// The ADO.NET provider opens a pooled connection per operation, so an emergency that wakes 50,000 grids and their
/// workers at once asked the Npgsql pool (100 connections) for 50,000 connections; after 15 s of waiting the calls
/// failed with "pool exhausted" and took the incident store's and the reminders' connections with them (storm bench on
/// PostgreSQL). Waiting here instead costs the same time the pool would, and leaves the rest of the pool to the
/// incident store, reminders and membership. Per grain nothing changes: a grain awaits its own write.
/// Since grain state is read and written in batches (<see cref="GroupCommitGrainStorage"/>) only clears still go
/// through the provider, and so through this bound.
/// </summary>
public sealed class BoundedGrainStorage(IGrainStorage inner, int inFlight) : IGrainStorage
{
    private readonly SemaphoreSlim _slots = new(inFlight, inFlight);
    private int _waiting;

    /// <summary>Operations waiting for a slot now (not counting those in progress).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public int InFlight => inFlight - _slots.CurrentCount;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(() => inner.ReadStateAsync(stateName, grainId, grainState));

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(() => inner.WriteStateAsync(stateName, grainId, grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        RunAsync(() => inner.ClearStateAsync(stateName, grainId, grainState));

    private async Task RunAsync(Func<Task> operation)
    {
        if (!_slots.Wait(0))
        {
            Interlocked.Increment(ref _waiting);
            try
            {
                await _slots.WaitAsync().ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }

        try
        {
            await operation().ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }
}
