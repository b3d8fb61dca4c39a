using GridDispatch.Domain;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Silo;

/// <summary>
/// At start-up each silo makes sure every deadline shard has its reminder (registered once per cluster; the reminder
/// service then keeps each sweeper running on some silo). A silo that cannot reach a shard now leaves it to the others
/// and to its own next start; it never fails its start-up for it.
/// </summary>
internal sealed partial class DeadlineSweepStart(IGrainFactory grains, ILogger<DeadlineSweepStart> logger) : IStartupTask
{
    public async Task Execute(CancellationToken cancellationToken)
    {
        for (var shard = 0; shard < DeadlineShards.Count; shard++)
        {
            try
            {
                await grains.GetGrain<IDeadlineSweepGrain>(shard).StartAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogStartFailed(ex, shard);
            }
        }
    }

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Deadline shard {Shard} could not be started from this silo; another silo or the next start will")]
    private partial void LogStartFailed(Exception ex, int shard);
}
