namespace GridDispatch.Domain;

/// <summary>
/// The workers a grid, region or department can dispatch, with their last known load.
/// Picking reserves load at once, so a burst of incidents spreads over the roster before the workers' own reports arrive.
/// </summary>
[GenerateSerializer, Alias("GridDispatch.Roster")]
public sealed class Roster
{
    [Id(0)]
    public Dictionary<string, RosterEntry> Entries { get; set; } = new(StringComparer.Ordinal);

    public void Join(RosterEntry entry) => Entries[entry.WorkerId] = entry;

    public bool Leave(string workerId) => Entries.Remove(workerId);

    /// <summary>Takes a worker's report unless a newer one is already here; only members are updated.</summary>
    public bool Update(RosterEntry entry)
    {
        if (!Entries.TryGetValue(entry.WorkerId, out var known) || known.Version >= entry.Version)
        {
            return false;
        }

        Entries[entry.WorkerId] = entry;
        return true;
    }

    /// <summary>
    /// The fitting worker with the lowest load relative to capacity: on duty, of a kind the mode's policy may dispatch,
    /// handles the category, not excluded, and below the policy's overload line after taking the task. Ties go to the
    /// incident's own grid's workers. A rebalancing move also needs the candidate to end up less loaded than the source.
    /// </summary>
    public RosterEntry? Pick(RouteRequest request, ModePolicy policy) => Pick(Entries.Values, request, policy);

    public static RosterEntry? Pick(IEnumerable<RosterEntry> entries, RouteRequest request, ModePolicy policy) =>
        entries
            .Where(e => Fits(e, request) && policy.MayDispatch(e.Kind) && e.Load + request.Weight <= e.Capacity * policy.OverloadedAt
                && (request.Rebalance is not { } from || (e.WorkerId != from.WorkerId
                    && (from.OffDuty || (double)(e.Load + request.Weight) / e.Capacity < from.Utilisation))))
            .OrderBy(e => (double)e.Load / e.Capacity)
            .ThenBy(e => e.HomeUnit == request.GridCode ? 0 : 1)
            .ThenBy(e => e.Load)
            .ThenBy(e => e.WorkerId, StringComparer.Ordinal)
            .FirstOrDefault();

    /// <summary>Adds or refreshes a worker known only by its reports (a region's pool of the workers below it).</summary>
    public bool Upsert(RosterEntry entry)
    {
        if (Entries.TryGetValue(entry.WorkerId, out var known) && known.Version >= entry.Version)
        {
            return false;
        }

        Entries[entry.WorkerId] = entry;
        return true;
    }

    public void Reserve(string workerId, int weight)
    {
        if (Entries.TryGetValue(workerId, out var e))
        {
            Entries[workerId] = e with { Load = e.Load + weight };
        }
    }

    /// <summary>Why <see cref="Pick"/> found nobody, for the timeline.</summary>
    public string ExplainMiss(RouteRequest request, ModePolicy policy)
    {
        if (Entries.Count == 0)
        {
            return "no staff";
        }

        if (!Entries.Values.Any(e => e.OnDuty))
        {
            return "no worker on duty";
        }

        if (!Entries.Values.Any(e => e.OnDuty && e.Handles(request.Category)))
        {
            return $"no worker on duty handles category {request.Category}";
        }

        if (!Entries.Values.Any(e => e.OnDuty && e.Handles(request.Category) && policy.MayDispatch(e.Kind)))
        {
            return "no worker of a kind this mode may dispatch handles it";
        }

        return Entries.Values.Any(e => Fits(e, request) && policy.MayDispatch(e.Kind))
            ? "every fitting worker is at capacity"
            : "every fitting worker has declined or timed out";
    }

    /// <summary>Members counted here (their home unit is <paramref name="unit"/>), so a worker serving several units is counted once.</summary>
    public IEnumerable<RosterEntry> HomeMembers(string unit) => Entries.Values.Where(e => e.HomeUnit == unit);

    private static bool Fits(RosterEntry e, RouteRequest r) =>
        e.OnDuty && e.Capacity > 0 && e.Handles(r.Category) && !r.Excluded.Contains(e.WorkerId);
}

/// <summary>
/// KPI bookkeeping from incidents' facts: the latest facts of every open incident, plus the folded counters of
/// finished ones. Each incident is folded once, so repeated or late reports never count twice: the ids of the newest
/// <see cref="FoldedIdsKept"/> finished incidents are kept for that (a repeat comes within seconds — a retried or
/// re-published message — and an incident that finished long ago sends nothing more that changes its facts).
/// </summary>
[GenerateSerializer, Alias("GridDispatch.KpiLedger")]
public sealed class KpiLedger
{
    /// <summary>The bound on remembered finished ids, per grid and per worker.</summary>
    public const int FoldedIdsKept = 4096;

    [Id(0)]
    public Dictionary<string, KpiFacts> Open { get; set; } = new(StringComparer.Ordinal);

    [Id(1)]
    public KpiSet Folded { get; set; } = KpiSet.Zero;

    [Id(2)]
    public HashSet<string> FoldedIds { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The order <see cref="FoldedIds"/> were added in, oldest first, so the oldest go first past the bound.</summary>
    [Id(3)]
    public Queue<string> FoldedOrder { get; set; } = new();

    public void Record(string incidentId, KpiFacts facts, bool terminal)
    {
        if (FoldedIds.Contains(incidentId))
        {
            return;
        }

        if (terminal)
        {
            Folded = Folded.Add(facts.ToKpiSet());
            FoldedIds.Add(incidentId);
            FoldedOrder.Enqueue(incidentId);
            Open.Remove(incidentId);
            Trim();
        }
        else
        {
            Open[incidentId] = facts;
        }
    }

    public void Forget(string incidentId) => Open.Remove(incidentId);

    private void Trim()
    {
        if (FoldedOrder.Count < FoldedIds.Count)
        {
            // A ledger written before the order was kept: take its ids in any order once.
            FoldedOrder = new Queue<string>(FoldedIds.Except(FoldedOrder, StringComparer.Ordinal).Concat(FoldedOrder));
        }

        while (FoldedOrder.Count > FoldedIdsKept && FoldedOrder.TryDequeue(out var oldest))
        {
            FoldedIds.Remove(oldest);
        }
    }

    public KpiSet Current() => Open.Values.Aggregate(Folded, (sum, f) => sum.Add(f.ToKpiSet()));
}
