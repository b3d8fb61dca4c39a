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
    public Task Execute(CancellationToken cancellationToken) =>
        DeadlineShardCalls.EachAsync(grains, sweeper => sweeper.StartAsync(), LogStartFailed);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Deadline shard {Shard} could not be started from this silo; another silo or the next start will")]
    private partial void LogStartFailed(Exception ex, int shard);
}

/// <summary>
/// Every <see cref="Every"/>, each silo touches every deadline shard's sweeper, so one whose silo died runs again on a
/// survivor within seconds (its reminder would take up to a minute, longer while the reminder service re-reads its
/// ranges). 16 calls per silo per interval.
/// </summary>
internal sealed partial class DeadlineSweepKeeper(IGrainFactory grains, ILogger<DeadlineSweepKeeper> logger) : Microsoft.Extensions.Hosting.BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await DeadlineShardCalls.EachAsync(grains, sweeper => sweeper.KeepAliveAsync(), LogKeepAliveFailed);
        }
    }

    [LoggerMessage(EventId = 5003, Level = LogLevel.Debug, Message = "Deadline shard {Shard} did not answer; the next round tries again")]
    private partial void LogKeepAliveFailed(Exception ex, int shard);
}

/// <summary>One call to every deadline shard's sweeper, one after another; a shard that fails is logged and skipped.</summary>
internal static class DeadlineShardCalls
{
    public static async Task EachAsync(IGrainFactory grains, Func<IDeadlineSweepGrain, Task> call, Action<Exception, int> failed)
    {
        for (var shard = 0; shard < DeadlineShards.Count; shard++)
        {
            try
            {
                await call(grains.GetGrain<IDeadlineSweepGrain>(shard));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failed(ex, shard);
            }
        }
    }
}
