using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace GridDispatch;

/// <summary>How surge workers are attached: by need (difficulty and open work per worker) or to the grid where they live.</summary>
public enum SurgeAttach
{
    [JsonStringEnumMemberName("by-need")] ByNeed = 0,
    [JsonStringEnumMemberName("by-home")] ByHome = 1,
}

/// <summary>One temporary worker to register: a volunteer, a cadre sent down from an office, or property staff.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.SurgeWorker")]
public sealed record SurgeWorker(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] WorkerKind Kind,
    [property: Id(3)] ImmutableArray<string> Categories,
    [property: Id(4)] int Capacity = 5,
    [property: Id(5)] string? Home = null);

[GenerateSerializer, Immutable, Alias("GridDispatch.SurgeRequest")]
public sealed record SurgeRequest(
    [property: Id(0)] string Scope,
    [property: Id(1)] string Actor,
    [property: Id(2)] SurgeAttach Attach,
    [property: Id(3)] ImmutableArray<SurgeWorker> Workers,
    [property: Id(4)] string? ActorScope = null);

[GenerateSerializer, Immutable, Alias("GridDispatch.SurgePlacement")]
public sealed record SurgePlacement([property: Id(0)] string WorkerId, [property: Id(1)] string GridCode, [property: Id(2)] string Why);

[GenerateSerializer, Immutable, Alias("GridDispatch.SurgeResult")]
public sealed record SurgeResult(
    [property: Id(0)] string Episode,
    [property: Id(1)] ImmutableArray<SurgePlacement> Placements);

/// <summary>The highest load seen during an episode, sampled from the scope's roll-up.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.LoadPeaks")]
public sealed record LoadPeaks(
    [property: Id(0)] double MaxWorkerUtilisation,
    [property: Id(1)] string? MaxWorker,
    [property: Id(2)] int MaxOverloaded,
    [property: Id(3)] double MaxScopeUtilisation,
    [property: Id(4)] int MaxLoad,
    [property: Id(5)] int Samples,
    [property: Id(6)] DateTimeOffset? At)
{
    public static readonly LoadPeaks None = new(0, null, 0, 0, 0, 0, null);
}

[GenerateSerializer, Immutable, Alias("GridDispatch.EpisodeCampaign")]
public sealed record EpisodeCampaign(
    [property: Id(0)] string Id,
    [property: Id(1)] string Title,
    [property: Id(2)] CampaignKind Kind,
    [property: Id(3)] string Scope,
    [property: Id(4)] int Rounds,
    [property: Id(5)] CampaignProgress Progress);

/// <summary>What an emergency episode did, written when the scope switches back to everyday.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.EpisodeReport")]
public sealed record EpisodeReport(
    [property: Id(0)] string Scope,
    [property: Id(1)] string Level,
    [property: Id(2)] string Reason,
    [property: Id(3)] string StartedBy,
    [property: Id(4)] DateTimeOffset StartedAt,
    [property: Id(5)] string EndedBy,
    [property: Id(6)] DateTimeOffset EndedAt,
    [property: Id(7)] string EndReason,
    [property: Id(8)] ImmutableArray<EpisodeCampaign> Campaigns,
    [property: Id(9)] int Tasks,
    [property: Id(10)] int TasksDone,
    [property: Id(11)] int TasksNotReachable,
    [property: Id(12)] int TasksClosedAtStandDown,
    [property: Id(13)] double Coverage,
    [property: Id(14)] double? MeanTaskResponseMinutes,
    [property: Id(15)] KpiCounters Incidents,
    [property: Id(16)] int SurgeWorkers,
    [property: Id(17)] int SurgeReleased,
    [property: Id(18)] LoadPeaks Peaks,
    [property: Id(19)] int Findings);

/// <summary>The emergency state of a scope: the running episode, if any, and reports of past ones.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.EmergencyView")]
public sealed record EmergencyView(
    [property: Id(0)] string Scope,
    [property: Id(1)] bool Active,
    [property: Id(2)] string? Level,
    [property: Id(3)] DateTimeOffset? Since,
    [property: Id(4)] int SurgeWorkers,
    [property: Id(5)] LoadPeaks Peaks,
    [property: Id(6)] ImmutableArray<EpisodeReport> Reports,
    [property: Id(7)] RegionView? Region = null);

/// <summary>
/// The commander's entry point for emergency operation at a city, district or street scope. Keyed by region code.
/// Switching to emergency starts an episode; switching back drains it: emergency-only campaigns end (unstarted tasks
/// closed with the reason), temporary workers are released, and an episode report is kept.
/// </summary>
[Alias("GridDispatch.IEmergencyGrain")]
public interface IEmergencyGrain : IGrainWithStringKey
{
    /// <summary>Switches the scope's mode (refused unless the actor commands the scope or one above it).</summary>
    [Alias("Switch")] Task<EmergencyView> SwitchAsync(ModeCommand command);

    /// <summary>Registers temporary workers in bulk and attaches them to grids of the scope; needs an active episode here.</summary>
    [Alias("Surge")] Task<SurgeResult> SurgeAsync(SurgeRequest request);

    [Alias("Get")] Task<EmergencyView> GetAsync();

    /// <summary>Takes a load sample now (the episode's timer does it periodically).</summary>
    [Alias("Sample")] Task<LoadPeaks> SampleAsync();
}
