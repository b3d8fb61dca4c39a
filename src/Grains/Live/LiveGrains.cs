using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace GridDispatch.Live;

/// <summary>
/// One activation per silo. Coalesces by entity (only the newest version waits) and flushes every 100 ms to each host;
/// a host that fails is logged and skipped, never failing the batch for the others.
/// </summary>
[StatelessWorker(1, removeIdleWorkers: false)]
public sealed partial class LiveNotifierGrain(TimeProvider time, ILogger<LiveNotifierGrain> logger) : Grain, ILiveNotifierGrain
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan HostRefresh = TimeSpan.FromMilliseconds(250);

    private readonly Dictionary<(LiveKind, string), LiveUpdate> _pending = [];
    private ImmutableArray<ILiveObserver> _hosts = [];
    private DateTimeOffset _hostsReadAt = DateTimeOffset.MinValue;
    private IGrainTimer? _timer;

    public Task PublishAsync(LiveUpdate update)
    {
        var key = (update.Kind, update.Id);
        if (!_pending.TryGetValue(key, out var known) || known.Version <= update.Version)
        {
            _pending[key] = update;
        }

        _timer ??= this.RegisterGrainTimer(static (self, _) => self.FlushAsync(), this,
            new GrainTimerCreationOptions(FlushInterval, Timeout.InfiniteTimeSpan));
        return Task.CompletedTask;
    }

    /// <summary>Whatever is pending still goes out when the activation is collected.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => FlushAsync();

    private async Task FlushAsync()
    {
        _timer?.Dispose();
        _timer = null;
        if (_pending.Count == 0)
        {
            return;
        }

        ImmutableArray<LiveUpdate> batch = [.. _pending.Values];
        _pending.Clear();
        // With no host known yet, ask every flush (a host that just started must not wait for the next refresh).
        if (_hosts.IsEmpty || time.GetUtcNow() - _hostsReadAt > HostRefresh)
        {
            try
            {
                _hosts = await GrainFactory.GetGrain<ILiveHostRegistryGrain>(0).GetHostsAsync();
                _hostsReadAt = time.GetUtcNow();
            }
            catch (Exception ex)
            {
                LogRegistryFailed(ex);
            }
        }

        foreach (var host in _hosts)
        {
            try
            {
                await host.OnUpdatesAsync(batch);
            }
            catch (Exception ex)
            {
                LogHostFailed(ex);
            }
        }
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Could not read the live host registry")]
    private partial void LogRegistryFailed(Exception ex);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "A live host did not take a batch")]
    private partial void LogHostFailed(Exception ex);
}

/// <summary>The registry of web hosts (operational time: the runtime's clock, not the domain's); in memory only — hosts re-register every few seconds, so a restart heals itself.</summary>
public sealed class LiveHostRegistryGrain(TimeProvider time) : Grain, ILiveHostRegistryGrain
{
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, (ILiveObserver Observer, DateTimeOffset SeenAt)> _hosts = new(StringComparer.Ordinal);

    public Task RegisterAsync(string hostId, ILiveObserver observer)
    {
        _hosts[hostId] = (observer, time.GetUtcNow());
        return Task.CompletedTask;
    }

    public Task UnregisterAsync(string hostId)
    {
        _hosts.Remove(hostId);
        return Task.CompletedTask;
    }

    public Task<ImmutableArray<ILiveObserver>> GetHostsAsync()
    {
        var now = time.GetUtcNow();
        foreach (var stale in _hosts.Where(h => now - h.Value.SeenAt > Expiry).Select(h => h.Key).ToList())
        {
            _hosts.Remove(stale);
        }

        return Task.FromResult<ImmutableArray<ILiveObserver>>([.. _hosts.Values.Select(h => h.Observer)]);
    }
}
