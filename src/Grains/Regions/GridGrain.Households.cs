using System.Collections.Immutable;
using GridDispatch.Domain;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Regions;

/// <summary>
/// The grid's side of the household register: its counts by colour and tag (recounted from the store when a household
/// changes, and rolled up the tree in the grid's summary), and the register's buildings and households as campaign
/// targets.
/// </summary>
public sealed partial class GridGrain
{
    private bool _householdsDirty;

    public Task HouseholdsChangedAsync()
    {
        _householdsDirty = true;
        MarkStored();   // brings the next roll-up tick, which recounts
        return Task.CompletedTask;
    }

    private async Task RecountHouseholdsAsync()
    {
        if (!_householdsDirty || S.Definition is null)
        {
            return;
        }

        _householdsDirty = false;
        try
        {
            var counts = await households.CountAsync(Code, clock.Now);
            if (!Same(counts, S.Households))
            {
                S.Households = counts;
                S.Version++;
            }
        }
        catch (Exception ex) when (ex is StoreUnavailableException or TimeoutException)
        {
            _householdsDirty = true;    // counted again at the next tick
            LogRecountFailed(ex, Code);
        }
    }

    private static bool Same(HouseholdCounts a, HouseholdCounts? b) =>
        b is not null && a with { ByTag = b.ByTag } == b && a.ByTag.Count == b.ByTag.Count
        && a.ByTag.All(kv => b.ByTag.TryGetValue(kv.Key, out var n) && n == kv.Value);

    /// <summary>
    /// The campaign's targets at this grid from the register: its buildings for a sweep, its households (those with one
    /// of the order's tags, when it names any) for a check, its isolated households for a delivery. A grid whose register
    /// holds nothing yet has targets numbered from its definition's counts, so a campaign still reaches it.
    /// </summary>
    private async Task<IReadOnlyList<string>> TargetsAsync(CampaignOrder order)
    {
        var rows = await households.InGridAsync(Code);
        if (rows.Count == 0)
        {
            return [.. GridCampaigns.Targets(order.Kind, S.Definition!)];
        }

        return [.. Register.RegisterTargets.Of(Code, rows, order.Kind, order.Tags)];
    }

    /// <summary>A household of this grid nobody answered at is queued for a second visit in the round, not just listed as missed.</summary>
    private void QueueSecondVisit(SweepCampaign campaign, SweepTask task, string actor)
    {
        if (CampaignTasks.HouseholdOf(task.Target) is { } household && !task.Target.EndsWith(CampaignTasks.SecondVisit, StringComparison.Ordinal)
            && campaign.Tasks.All(t => t.Target != household + CampaignTasks.SecondVisit))
        {
            campaign.Tasks.Add(new SweepTask
            {
                Target = household + CampaignTasks.SecondVisit,
                History = [new SweepTaskEntry(clock.Now, "system", $"second visit: nobody answered at the first ({actor})")],
            });
        }
    }

    /// <summary>An incident linked to a household of this grid (a finding, a warning) changed: the household hears of it, one-way.</summary>
    private Task TellHouseholdAsync(IncidentSummary incident) =>
        incident.Household is { } household && HouseholdIds.GridOf(household) == Code
            ? GrainFactory.Reference<IHouseholdGrain>(household).IncidentChangedAsync(incident)
            : Task.CompletedTask;

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Grid {GridCode} could not count its households; it tries again at the next tick")]
    private partial void LogRecountFailed(Exception ex, string gridCode);
}
