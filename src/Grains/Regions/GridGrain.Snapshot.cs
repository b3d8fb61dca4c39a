using GridDispatch.Domain;
using GridDispatch.Incidents;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Regions;

/// <summary>
/// The grid's open-work index is a write-behind snapshot (stored on the roll-up tick): a deactivation stores it as
/// clean, the first incident change after that stores "not clean" at once, and a snapshot read back not clean — its
/// last activation crashed — is rebuilt from the incidents' timelines.
/// </summary>
public sealed partial class GridGrain
{
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await base.OnDeactivateAsync(reason, cancellationToken);
        if (!S.Clean && S.Definition is not null)
        {
            S.Clean = true;
            try
            {
                await Store.WriteStateAsync(cancellationToken);
            }
            catch (Exception ex)
            {
                S.Clean = false;    // stored as not clean: the next activation rebuilds, which is only slower
                LogRebuildFailed(ex, Code);
            }
        }
    }

    /// <summary>
    /// The snapshot may be stale (the last activation crashed before its roll-up tick stored the index): the open
    /// incidents of this grid are read from their timelines; those missing are added, and those listed open that
    /// have ended are folded in as finished.
    /// </summary>
    private async Task RebuildOpenAsync()
    {
        try
        {
            var open = await incidents.OpenInGridAsync(Code, MaxRebuilt);
            var known = open.ToHashSet(StringComparer.Ordinal);
            var stale = open.Where(id => !S.Open.ContainsKey(id)).Concat(S.Open.Keys.Where(id => !known.Contains(id))).ToList();
            foreach (var id in stale)
            {
                var record = new IncidentRecord();
                foreach (var entry in await incidents.ReadAsync(id))
                {
                    record.Apply(entry);
                }

                if (record.Exists)
                {
                    Take(record.Summary(id, clock.Now));
                }
            }

            LogRebuilt(Code, stale.Count);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or DomainException)
        {
            LogRebuildFailed(ex, Code);  // the index stays as stored; incidents' next changes correct it
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Grid {GridCode} rebuilt its open-work index from the timelines: {Changed} incident(s) corrected")]
    private partial void LogRebuilt(string gridCode, int changed);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Grid {GridCode} could not rebuild or store its open-work index; it goes on with the stored one")]
    private partial void LogRebuildFailed(Exception ex, string gridCode);
}
