namespace GridDispatch;

/// <summary>
/// One deadline shard's sweeper (keys 0 … <c>DeadlineShards.Count</c> − 1): it wakes the shard's incidents whose recorded
/// due time has passed. A reminder per shard keeps one running somewhere in the cluster, also after a silo died.
/// </summary>
[Alias("GridDispatch.IDeadlineSweepGrain")]
public interface IDeadlineSweepGrain : IGrainWithIntegerKey
{
    /// <summary>Makes sure the shard's reminder exists (each silo asks at start-up) and the sweeper runs.</summary>
    [Alias("Start")] Task StartAsync();

    /// <summary>Does nothing but activate the sweeper: each silo calls it every few seconds, so a sweeper whose silo died is back on another well before its reminder would bring it.</summary>
    [Alias("KeepAlive")] Task KeepAliveAsync();

    /// <summary>Sweeps now; returns how many incidents it woke.</summary>
    [Alias("Sweep")] Task<int> SweepAsync();
}
