using GridDispatch.Api.Auth;
using GridDispatch.Domain;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace GridDispatch.Api.Live;

/// <summary>A topic's snapshot for a caller, decided by <see cref="Policy"/>: subscribing is reading the topic's entity.</summary>
public static class LiveAccess
{
    public static async Task<object> SnapshotAsync(IGrainFactory grains, Endpoints.GridLocator city, CategoryCatalog catalog, Caller caller, string topic)
    {
        var (kind, key) = LiveTopics.Parse(topic) ?? throw new HubException($"Unknown topic '{topic}'");
        try
        {
            switch (kind)
            {
                case "city":
                    Policy.Require(caller, Act.RegionRead, Target.RegionOf(city.CityCode), "topic");
                    return await grains.GetGrain<ICityGrain>(city.CityCode).GetAsync();
                case "region" when RegionCode.TryGetLevel(key, out var level) && level != RegionLevel.Grid:
                    Policy.Require(caller, Act.RegionRead, Target.RegionOf(key), "topic");
                    return await grains.GetRegion(key).GetAsync();
                case "grid" when RegionCode.IsValid(key, RegionLevel.Grid):
                    Policy.Require(caller, Act.RegionRead, Target.RegionOf(key), "topic");
                    return await grains.GetGrain<IGridGrain>(key).GetAsync();
                case "worker":
                    return Access.Worker(caller, await grains.GetGrain<IWorkerGrain>(key).GetAsync());
                case "incident":
                    return Access.Incident(caller, await grains.GetGrain<IIncidentGrain>(key).GetAsync(), catalog);
                default:
                    throw new HubException($"Malformed topic '{topic}'");
            }
        }
        catch (DomainException e)
        {
            throw new HubException($"{e.Code}: {e.Message}");
        }
    }

    /// <summary>The region a topic is about, for the audit log; null for workers and incidents.</summary>
    public static string? RegionOf(string topic) => LiveTopics.Parse(topic) is ("region" or "grid", var key) ? key : null;

    /// <summary>True for topics whose access depends on the entity (who a worker is with, who an incident is with), not only on the token.</summary>
    public static bool CanChange(string topic) => LiveTopics.Parse(topic) is ("worker" or "incident", _);
}

/// <summary>Live settings (section "GridDispatch:Live").</summary>
public sealed class LiveOptions
{
    public const string Section = "GridDispatch:Live";

    /// <summary>How often subscriptions to workers and incidents are checked again against the policy.</summary>
    public TimeSpan AccessReviewInterval { get; set; } = TimeSpan.FromSeconds(30);

    public static SettingRules<LiveOptions> Rules => new SettingRules<LiveOptions>(Section)
        .Between(nameof(AccessReviewInterval), o => o.AccessReviewInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
}

/// <summary>
/// Ends subscriptions the caller may no longer read: a worker who moved out of a supervisor's region, an incident that
/// moved away from a worker. Region, grid and city topics depend only on the token, which the hub closes when it
/// expires, so only worker and incident topics are read again. The client gets <c>subscriptionEnded</c> with the topic.
/// </summary>
public sealed partial class LiveAccessReview(
    IGrainFactory grains,
    IHubContext<LiveHub> hub,
    LiveSubscriptions subscriptions,
    Endpoints.GridLocator city,
    CategoryCatalog catalog,
    IOptions<LiveOptions> options,
    ILogger<LiveAccessReview> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.AccessReviewInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ReviewAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogReviewFailed(logger, ex);
            }
        }
    }

    public async Task ReviewAsync(CancellationToken cancellationToken)
    {
        foreach (var (connection, caller, topics) in subscriptions.Snapshot())
        {
            foreach (var topic in topics.Where(LiveAccess.CanChange))
            {
                // Fails closed, one topic at a time: a topic whose access cannot be established now is ended too (the
                // client may subscribe again), and one failing topic never stops the review of the others.
                string? reason = null;
                try
                {
                    await LiveAccess.SnapshotAsync(grains, city, catalog, caller, topic);
                }
                catch (HubException e)
                {
                    reason = e.Message;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogTopicFailed(logger, e, topic);
                    reason = "access could not be checked; subscribe again";
                }

                if (reason is not null)
                {
                    subscriptions.Remove(connection, topic);
                    await hub.Groups.RemoveFromGroupAsync(connection, topic, cancellationToken);
                    await hub.Clients.Client(connection).SendAsync("subscriptionEnded", new { topic, reason }, cancellationToken);
                }
            }
        }
    }

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Checking access to live topic {Topic} failed; the subscription is ended")]
    private static partial void LogTopicFailed(ILogger logger, Exception ex, string topic);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Reviewing live subscriptions failed; the next round tries again")]
    private static partial void LogReviewFailed(ILogger logger, Exception ex);
}
