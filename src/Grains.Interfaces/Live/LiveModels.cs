using System.Collections.Immutable;

namespace GridDispatch;

public enum LiveKind
{
    Incident = 0,
    Grid = 1,
    Region = 2,
    Worker = 3,
}

/// <summary>A worker's live load, as dashboards show it.</summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.WorkerLoad")]
public sealed record WorkerLoad(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] WorkerKind Kind,
    [property: Id(3)] WorkerStatus Status,
    [property: Id(4)] int Load,
    [property: Id(5)] int Capacity,
    [property: Id(6)] string HomeUnit,
    [property: Id(7)] int OpenTasks);

/// <summary>
/// The latest state of one entity, with its version and when it changed. Exactly one of the payloads is set,
/// according to <see cref="Kind"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.LiveUpdate")]
public sealed record LiveUpdate(
    [property: Id(0)] LiveKind Kind,
    [property: Id(1)] string Id,
    [property: Id(2)] long Version,
    [property: Id(3)] DateTimeOffset ChangedAt,
    [property: Id(4)] IncidentSummary? Incident = null,
    [property: Id(5)] UnitSummary? Unit = null,
    [property: Id(6)] WorkerLoad? Worker = null)
{
    public static LiveUpdate Of(IncidentSummary s, DateTimeOffset at) => new(LiveKind.Incident, s.Id, s.Version, at, Incident: s);

    public static LiveUpdate Of(UnitSummary s) =>
        new(s.Level == RegionLevel.Grid ? LiveKind.Grid : LiveKind.Region, s.Code, s.Version, s.AsOf, Unit: s);

    public static LiveUpdate Of(WorkerLoad w, long version, DateTimeOffset at) => new(LiveKind.Worker, w.Id, version, at, Worker: w);
}

/// <summary>A web host's receiver of live updates (one per host, registered with <see cref="ILiveHostRegistryGrain"/>).</summary>
[Alias("GridDispatch.ILiveObserver")]
public interface ILiveObserver : IGrainObserver
{
    [OneWay, Alias("OnUpdates")] Task OnUpdatesAsync(ImmutableArray<LiveUpdate> updates);
}

/// <summary>Which web hosts want live updates. Hosts re-register every few seconds; silent ones are dropped.</summary>
[Alias("GridDispatch.ILiveHostRegistryGrain")]
public interface ILiveHostRegistryGrain : IGrainWithIntegerKey
{
    [Alias("Register")] Task RegisterAsync(string hostId, ILiveObserver observer);

    [Alias("Unregister")] Task UnregisterAsync(string hostId);

    [Alias("GetHosts")] Task<ImmutableArray<ILiveObserver>> GetHostsAsync();
}
