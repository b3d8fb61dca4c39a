using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace GridDispatch;

/// <summary>What a mass task (campaign) does at every grid of its scope.</summary>
public enum CampaignKind
{
    /// <summary>Sweep every building (one task per building).</summary>
    [JsonStringEnumMemberName("sweep-buildings")] SweepBuildings = 0,
    /// <summary>Check every household (one task per household).</summary>
    [JsonStringEnumMemberName("check-households")] CheckHouseholds = 1,
    /// <summary>Deliver to every isolated home (one task per household, no isolation register being kept here).</summary>
    [JsonStringEnumMemberName("deliver-supplies")] DeliverSupplies = 2,
}

public enum CampaignStatus
{
    Running = 0,
    /// <summary>Ended by a commander or at stand-down: unstarted tasks were closed with the reason.</summary>
    Ended = 1,
}

/// <summary>One building or household task of a campaign round at one grid.</summary>
public enum SweepTaskStatus
{
    /// <summary>No fitting worker had room yet; assigned as soon as one has.</summary>
    Pending = 0,
    Assigned = 1,
    InProgress = 2,
    Done = 3,
    /// <summary>Visited, but nobody could be reached (counted as not covered).</summary>
    [JsonStringEnumMemberName("not-reachable")] NotReachable = 4,
    /// <summary>Closed unfinished, with a reason (the campaign ended, a newer round replaced it).</summary>
    Closed = 5,
}

/// <summary>Once, or a new round at each of these local times of day until <see cref="Until"/>.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.CampaignSchedule")]
public sealed record CampaignSchedule(
    [property: Id(0)] ImmutableArray<TimeOnly> TimesOfDay,
    [property: Id(1)] DateTimeOffset? Until = null);

/// <summary>A commander's order: a campaign of <see cref="Kind"/> over every grid under <see cref="Scope"/>.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.CampaignSpec")]
public sealed record CampaignSpec(
    [property: Id(0)] string Scope,
    [property: Id(1)] CampaignKind Kind,
    [property: Id(2)] string Title,
    [property: Id(3)] CampaignSchedule? Schedule,
    [property: Id(4)] string Actor,
    [property: Id(5)] string? ActorScope = null,
    [property: Id(6)] string[]? Tags = null,
    [property: Id(7)] string? Supplies = null);

/// <summary>One round of a campaign as it travels down the region tree to the grids.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.CampaignOrder")]
public sealed record CampaignOrder(
    [property: Id(0)] string CampaignId,
    [property: Id(1)] int Round,
    [property: Id(2)] CampaignKind Kind,
    [property: Id(3)] string Title,
    [property: Id(4)] DateTimeOffset IssuedAt,
    [property: Id(5)] DateTimeOffset DueAt,
    [property: Id(6)] bool Emergency,
    [property: Id(7)] string[]? Tags = null,
    [property: Id(8)] string? Supplies = null);

/// <summary>Additive progress of one campaign's current round, per grid and rolled up the tree.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.CampaignProgress")]
public sealed record CampaignProgress(
    [property: Id(0)] int Round,
    [property: Id(1)] int Total,
    [property: Id(2)] int Pending,
    [property: Id(3)] int Assigned,
    [property: Id(4)] int InProgress,
    [property: Id(5)] int Done,
    [property: Id(6)] int NotReachable,
    [property: Id(7)] int Closed,
    [property: Id(8)] int Overdue,
    [property: Id(9)] int Findings,
    [property: Id(10)] long ResponseSeconds,
    [property: Id(11)] int Responses,
    [property: Id(12)] int Grids)
{
    public static readonly CampaignProgress Zero = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>Done / total: the share of buildings or households covered.</summary>
    public double Coverage => Total > 0 ? (double)Done / Total : 0;

    /// <summary>Tasks no worker holds yet, or holds but has not finished.</summary>
    public int Open => Pending + Assigned + InProgress;

    /// <summary>Mean time from issue to done or not-reachable, in minutes.</summary>
    public double? MeanResponseMinutes => Responses > 0 ? ResponseSeconds / 60.0 / Responses : null;

    public CampaignProgress Add(CampaignProgress o) => new(
        Math.Max(Round, o.Round), Total + o.Total, Pending + o.Pending, Assigned + o.Assigned, InProgress + o.InProgress,
        Done + o.Done, NotReachable + o.NotReachable, Closed + o.Closed, Overdue + o.Overdue, Findings + o.Findings,
        ResponseSeconds + o.ResponseSeconds, Responses + o.Responses, Grids + o.Grids);
}

/// <summary>A building or household not covered: the accountability list (who holds it, and why it is open).</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.UncoveredTarget")]
public sealed record UncoveredTarget(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string GridCode,
    [property: Id(2)] string Target,
    [property: Id(3)] SweepTaskStatus Status,
    [property: Id(4)] string? WorkerId,
    [property: Id(5)] bool Overdue,
    [property: Id(6)] string? Note);

/// <summary>One line of a campaign task's history: assignment, each move between workers, start, result.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.SweepTaskEntry")]
public sealed record SweepTaskEntry([property: Id(0)] DateTimeOffset At, [property: Id(1)] string Actor, [property: Id(2)] string What);

[GenerateSerializer, Immutable, Alias("GridDispatch.SweepTaskView")]
public sealed record SweepTaskView(
    [property: Id(0)] string TaskId,
    [property: Id(1)] string CampaignId,
    [property: Id(2)] int Round,
    [property: Id(3)] string GridCode,
    [property: Id(4)] string Target,
    [property: Id(5)] SweepTaskStatus Status,
    [property: Id(6)] string? WorkerId,
    [property: Id(7)] DateTimeOffset DueAt,
    [property: Id(8)] string? Note,
    [property: Id(9)] ImmutableArray<SweepTaskEntry> History,
    [property: Id(10)] PhotoList? Photos = null);

/// <summary>Something found on a sweep that becomes an incident of its own.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.Finding")]
public sealed record Finding(
    [property: Id(0)] string Category,
    [property: Id(1)] Severity Severity,
    [property: Id(2)] string Description);

/// <summary>A worker's result of a campaign task: done, or visited and not reachable; with findings.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.SweepResult")]
public sealed record SweepResult(
    [property: Id(0)] string Actor,
    [property: Id(1)] bool Reached,
    [property: Id(2)] string? Note,
    [property: Id(3)] ImmutableArray<Finding> Findings,
    [property: Id(4)] PhotoList? Photos = null);

/// <summary>A round issued by a campaign: when, and when it is due.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.CampaignRound")]
public sealed record CampaignRound([property: Id(0)] int Round, [property: Id(1)] DateTimeOffset IssuedAt, [property: Id(2)] DateTimeOffset DueAt);

/// <summary>Progress of a campaign at one region (or grid) of its scope.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.RegionProgress")]
public sealed record RegionProgress(
    [property: Id(0)] string Code,
    [property: Id(1)] RegionLevel Level,
    [property: Id(2)] string Name,
    [property: Id(3)] CampaignProgress Progress);

[GenerateSerializer, Immutable, Alias("GridDispatch.CampaignView")]
public sealed record CampaignView(
    [property: Id(0)] string Id,
    [property: Id(1)] CampaignSpec Spec,
    [property: Id(2)] CampaignStatus Status,
    [property: Id(3)] bool Emergency,
    [property: Id(4)] DateTimeOffset LaunchedAt,
    [property: Id(5)] ImmutableArray<CampaignRound> Rounds,
    [property: Id(6)] DateTimeOffset? EndedAt,
    [property: Id(7)] string? EndReason,
    [property: Id(8)] CampaignProgress Progress,
    [property: Id(9)] ImmutableArray<RegionProgress> ByRegion,
    [property: Id(10)] ImmutableArray<UncoveredTarget> Accountability,
    [property: Id(11)] int AccountabilityTotal,
    [property: Id(12)] DateTimeOffset? NextRoundAt);

/// <summary>A line of the city's list of campaigns.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.CampaignEntry")]
public sealed record CampaignEntry(
    [property: Id(0)] string Id,
    [property: Id(1)] string Scope,
    [property: Id(2)] CampaignKind Kind,
    [property: Id(3)] string Title,
    [property: Id(4)] CampaignStatus Status,
    [property: Id(5)] bool Emergency,
    [property: Id(6)] DateTimeOffset LaunchedAt);
