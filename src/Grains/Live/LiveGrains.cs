using System.Collections.Immutable;

namespace GridDispatch.Live;

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
