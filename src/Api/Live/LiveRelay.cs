using System.Collections.Immutable;
using Microsoft.AspNetCore.SignalR;

namespace GridDispatch.Api.Live;

/// <summary>
/// This host's <see cref="ILiveObserver"/>: takes batches from every silo's notifier, keeps per topic only the newest
/// version of each entity, and pushes each topic at most <see cref="PushesPerSecond"/> times a second. It registers
/// itself with the host registry every few seconds, so it keeps receiving after a silo restart.
/// </summary>
public sealed partial class LiveRelay(
    IGrainFactory grains,
    IHubContext<LiveHub> hub,
    LiveSubscriptions subscriptions,
    ILogger<LiveRelay> logger) : BackgroundService, ILiveObserver
{
    public const int PushesPerSecond = 4;
    private static readonly TimeSpan RegisterEvery = TimeSpan.FromSeconds(5);
    private readonly string _hostId = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
    private readonly object _gate = new();
    private Dictionary<string, Dictionary<(LiveKind, string), LiveUpdate>> _pending = new(StringComparer.Ordinal);

    public Task OnUpdatesAsync(ImmutableArray<LiveUpdate> updates)
    {
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
                    }
                }
            }
        }

        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reference = grains.CreateObjectReference<ILiveObserver>(this);
        var lastRegistered = DateTimeOffset.MinValue;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / PushesPerSecond));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
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

                await PushAsync(stoppingToken);
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

    private async Task PushAsync(CancellationToken cancellationToken)
    {
        Dictionary<string, Dictionary<(LiveKind, string), LiveUpdate>> batch;
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return;
            }

            (batch, _pending) = (_pending, new(StringComparer.Ordinal));
        }

        foreach (var (topic, entities) in batch)
        {
            foreach (var kind in entities.Values.GroupBy(u => u.Kind))
            {
                try
                {
                    await hub.Clients.Group(topic).SendAsync(EventName(kind.Key), kind.Select(Payload).ToArray(), cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPushFailed(ex, topic);
                }
            }
        }
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
