using System.Collections.Immutable;
using Microsoft.AspNetCore.SignalR;

namespace GridDispatch.Api.Live;

/// <summary>
/// This host's <see cref="ILiveObserver"/>: takes batches from every silo's live feed, keeps per topic only the newest
/// version of each entity, and pushes each topic at most <see cref="PushesPerSecond"/> times a second: a topic that has
/// been quiet for a push interval is pushed at once (leading edge), one pushed less than that ago waits for the rest of
/// the interval and then takes everything that came meanwhile. It registers itself with the host registry every few
/// seconds, so it keeps receiving after a silo restart. Bound: one pending update per entity per subscribed topic, and
/// one last-push time per topic pushed in the last interval.
/// </summary>
public sealed partial class LiveRelay(
    IGrainFactory grains,
    IHubContext<LiveHub> hub,
    LiveSubscriptions subscriptions,
    System.Diagnostics.Metrics.IMeterFactory meters,
    ILogger<LiveRelay> logger) : BackgroundService, ILiveObserver
{
    private readonly LiveMetrics _metrics = new(meters);
    public const int PushesPerSecond = 20;
    private static readonly TimeSpan RegisterEvery = TimeSpan.FromSeconds(5);
    private readonly string _hostId = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
    private static readonly TimeSpan PushInterval = TimeSpan.FromSeconds(1.0 / PushesPerSecond);
    private readonly object _gate = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Dictionary<string, long> _pushedAt = new(StringComparer.Ordinal);   // the push loop's own
    private Dictionary<string, Dictionary<(LiveKind, string), LiveUpdate>> _pending = new(StringComparer.Ordinal);
    private bool _signalled;

    public Task OnUpdatesAsync(ImmutableArray<LiveUpdate> updates)
    {
        var signal = false;
        lock (_gate)
        {
            foreach (var update in updates)
            {
                foreach (var topic in LiveTopics.For(update))
                {
                    if (!subscriptions.Any(topic))
                    {
                        continue;
                    }

                    if (!_pending.TryGetValue(topic, out var entities))
                    {
                        _pending[topic] = entities = [];
                    }

                    var key = (update.Kind, update.Id);
                    if (!entities.TryGetValue(key, out var known) || known.Version <= update.Version)
                    {
                        entities[key] = update;
                        if (known is not null)
                        {
                            _metrics.Superseded.Add(1);     // a newer state of the same entity replaces one not yet pushed
                        }
                    }
                }
            }

            if (_pending.Count > 0 && !_signalled)
            {
                (_signalled, signal) = (true, true);
            }
        }

        if (signal)
        {
            _wake.Release();
        }

        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reference = grains.CreateObjectReference<ILiveObserver>(this);
        var lastRegistered = DateTimeOffset.MinValue;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (DateTimeOffset.UtcNow - lastRegistered > RegisterEvery)
                {
                    try
                    {
                        await grains.GetGrain<ILiveHostRegistryGrain>(0).RegisterAsync(_hostId, reference);
                        lastRegistered = DateTimeOffset.UtcNow;
                    }
                    catch (Exception ex)
                    {
                        LogRegisterFailed(ex);
                    }
                }

                var next = await PushAsync(stoppingToken);
                // (Not registered yet, or the last try failed: try again after one push interval, not in a tight loop.)
                var untilRegister = lastRegistered == DateTimeOffset.MinValue ? PushInterval : lastRegistered + RegisterEvery - DateTimeOffset.UtcNow;
                var sleep = next is { } n && n < untilRegister ? n : untilRegister;
                await _wake.WaitAsync(sleep > TimeSpan.Zero ? sleep : TimeSpan.Zero, stoppingToken);
                while (_wake.CurrentCount > 0 && _wake.Wait(0))
                {
                    // one scan serves every signal that came meanwhile
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            grains.DeleteObjectReference<ILiveObserver>(reference);
        }
    }

    /// <summary>Pushes the topics whose interval has passed; how long until the next waiting one may go (null: none waits).</summary>
    private async Task<TimeSpan?> PushAsync(CancellationToken cancellationToken)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var stale in _pushedAt.Where(p => System.Diagnostics.Stopwatch.GetElapsedTime(p.Value, now) >= PushInterval).Select(p => p.Key).ToList())
        {
            _pushedAt.Remove(stale);    // quiet for a whole interval: its next update goes at once
        }

        var batch = new List<(string Topic, Dictionary<(LiveKind, string), LiveUpdate> Entities)>();
        TimeSpan? next = null;
        lock (_gate)
        {
            _signalled = false;
            foreach (var (topic, entities) in _pending)
            {
                if (_pushedAt.TryGetValue(topic, out var at))
                {
                    var left = PushInterval - System.Diagnostics.Stopwatch.GetElapsedTime(at, now);
                    next = next is { } n && n < left ? n : left;
                    continue;
                }

                batch.Add((topic, entities));
            }

            foreach (var (topic, _) in batch)
            {
                _pending.Remove(topic);
            }
        }

        foreach (var (topic, entities) in batch)
        {
            _pushedAt[topic] = now;
            foreach (var kind in entities.Values.GroupBy(u => u.Kind))
            {
                try
                {
                    await hub.Clients.Group(topic).SendAsync(EventName(kind.Key), kind.Select(Payload).ToArray(), cancellationToken);
                    _metrics.Pushed(kind, DateTimeOffset.UtcNow);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _metrics.Failed.Add(1);
                    LogPushFailed(ex, topic);
                }
            }
        }

        return next;
    }

    public static string EventName(LiveKind kind) => kind switch
    {
        LiveKind.Incident => "incidentChanged",
        LiveKind.Grid => "gridChanged",
        LiveKind.Region => "regionChanged",
        _ => "workerChanged",
    };

    /// <summary>What a client receives for one entity: id, version, when it changed, and its latest state.</summary>
    private static LivePayload Payload(LiveUpdate u) =>
        new(u.Id, u.Version, u.ChangedAt, (object?)u.Incident ?? (object?)u.Unit ?? u.Worker!);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Could not register this host for live updates")]
    private partial void LogRegisterFailed(Exception ex);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Pushing to topic {Topic} failed")]
    private partial void LogPushFailed(Exception ex, string topic);
}

public sealed record LivePayload(string Id, long Version, DateTimeOffset ChangedAt, object State);

/// <summary>
/// The relay's instruments: how long a change took from its grain to the hub (histogram, per entity pushed), pushes
/// the hub refused (dropped: their topic gets the entity again only with its next change), and updates superseded by a
/// newer one before they went out (the coalescing that keeps a topic at 20 pushes a second).
/// </summary>
internal sealed class LiveMetrics
{
    private readonly System.Diagnostics.Metrics.Histogram<double> _latency;

    public LiveMetrics(System.Diagnostics.Metrics.IMeterFactory meters)
    {
        var meter = GridDispatch.Telemetry.EngineMetrics.Meter(meters);
        _latency = meter.CreateHistogram<double>("griddispatch.live.push.duration", "s", "From an entity's change to its push to the subscribed browsers",
            tags: null, advice: new System.Diagnostics.Metrics.InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        Failed = meter.CreateCounter<long>("griddispatch.live.pushes.dropped", "{push}", "Pushes the hub could not send (their entities wait for their next change)");
        Superseded = meter.CreateCounter<long>("griddispatch.live.updates.superseded", "{update}", "Updates replaced by a newer state of the same entity before they were pushed");
    }

    public System.Diagnostics.Metrics.Counter<long> Failed { get; }

    public System.Diagnostics.Metrics.Counter<long> Superseded { get; }

    public void Pushed(IEnumerable<LiveUpdate> updates, DateTimeOffset now)
    {
        foreach (var update in updates)
        {
            _latency.Record(Math.Max(0, (now - update.ChangedAt).TotalSeconds));
        }
    }
}
