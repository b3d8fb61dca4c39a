using System.Collections.Immutable;

namespace GridDispatch;

/// <summary>A grid or region that passes campaign rounds down the tree (one-way, like mode broadcasts).</summary>
[Alias("GridDispatch.ICampaignFollower")]
public interface ICampaignFollower : IGrainWithStringKey
{
    /// <summary>A new round: regions pass it to their children, grids split it into tasks and dispatch them. Idempotent per round.</summary>
    [OneWay, Alias("StartCampaign")] Task StartCampaignAsync(CampaignOrder order);

    /// <summary>The campaign ended: unstarted tasks are closed with the reason; tasks in progress may still finish.</summary>
    [OneWay, Alias("EndCampaign")] Task EndCampaignAsync(string campaignId, string reason);
}

/// <summary>
/// A mass task (sweep every building, check every household, deliver to every isolated home) over a scope. Keyed by
/// campaign id. It issues rounds (once, or on a schedule) down the region tree and reads progress back from the scope's
/// rolled-up summary; it never waits on a grid while issuing.
/// </summary>
[Alias("GridDispatch.ICampaignGrain")]
public interface ICampaignGrain : IGrainWithStringKey
{
    /// <summary>Launches the campaign (idempotent for the same spec); refused when the actor may not command the scope.</summary>
    [Alias("Launch")] Task<CampaignView> LaunchAsync(CampaignSpec spec);

    /// <summary>Progress at the scope and its children, and up to <paramref name="accountabilityLimit"/> uncovered targets.</summary>
    [Alias("Get")] Task<CampaignView> GetAsync(int accountabilityLimit = 200);

    [Alias("End")] Task<CampaignView> EndAsync(string actor, string reason, string? actorScope = null);

    /// <summary>Issues the next scheduled round if it is due by the engine clock. The reminder calls it; idempotent.</summary>
    [Alias("Tick")] Task<CampaignView> TickAsync();
}

/// <summary>A city's list of campaigns, surge batches and active emergency episodes. Keyed by city code.</summary>
[Alias("GridDispatch.IOperationsDirectoryGrain")]
public interface IOperationsDirectoryGrain : IGrainWithStringKey
{
    [Alias("CampaignChanged")] Task CampaignChangedAsync(CampaignEntry entry);

    /// <summary>Campaigns whose scope is <paramref name="scope"/> or below it (every campaign of the city for the city code).</summary>
    [Alias("Campaigns")] Task<ImmutableArray<CampaignEntry>> CampaignsAsync(string scope);

    /// <summary>An emergency episode started (true) or ended (false) at a scope.</summary>
    [Alias("EpisodeChanged")] Task EpisodeChangedAsync(string scope, bool active);

    [Alias("ActiveEpisodes")] Task<ImmutableArray<string>> ActiveEpisodesAsync();

    /// <summary>The nearest scope at or above <paramref name="code"/> with an active emergency episode, or null.</summary>
    [Alias("EpisodeCovering")] Task<string?> EpisodeCoveringAsync(string code);
}
