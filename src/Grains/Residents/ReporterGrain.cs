using System.Collections.Immutable;
using GridDispatch.Domain;

namespace GridDispatch.Residents;

[GenerateSerializer, Alias("GridDispatch.ReporterRecord.v1")]
public sealed class ReporterRecord
{
    /// <summary>Newest first; at most <see cref="ReporterLimits.Kept"/>.</summary>
    [Id(0)] public List<string> Incidents { get; set; } = [];
}

/// <summary>A resident's list of their own reports. Bound: <see cref="ReporterLimits.Kept"/> ids.</summary>
public sealed class ReporterGrain([PersistentState("reporter", GridDispatchStorage.Name)] IPersistentState<ReporterRecord> store) : Grain, IReporterGrain
{
    public async Task AddAsync(string incidentId)
    {
        var list = store.State.Incidents;
        if (list.Count > 0 && list[0] == incidentId)
        {
            return;
        }

        list.Remove(incidentId);
        list.Insert(0, incidentId);
        if (list.Count > ReporterLimits.Kept)
        {
            list.RemoveRange(ReporterLimits.Kept, list.Count - ReporterLimits.Kept);
        }

        await store.WriteStateAsync();
    }

    public Task<ImmutableArray<string>> ListAsync() => Task.FromResult(store.State.Incidents.ToImmutableArray());
}
