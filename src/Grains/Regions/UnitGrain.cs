using GridDispatch.Domain;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Regions;

/// <summary>State every grid and region keeps: a roster of workers and a version for its roll-ups.</summary>
public interface IUnitRecord
{
    Roster Roster { get; }

    long Version { get; set; }

    /// <summary>The effective operating mode; everyday until a switch reaches this unit.</summary>
    OperatingMode Mode { get; set; }

    /// <summary>The newest mode broadcast taken from the parent (older ones arriving late are ignored).</summary>
    long InheritedVersion { get; set; }
}

/// <summary>
/// What grids and regions share: a roster of workers with live load, dispatch from it, and batched roll-ups — every
/// change marks the unit dirty, and one timer tick later the state is stored and the summary pushed to the parent and to
/// the silo's live feed.
/// </summary>
public abstract class UnitGrain<TRecord> : Grain, IRosterHolder, Telemetry.IDomainTagged
    where TRecord : class, IUnitRecord, new()
{
    private static readonly Action<ILogger, string, Exception?> FlushFailed =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(2001, "RollupFlushFailed"), "Unit {Code} could not flush its roll-up on deactivation");

    private static readonly Action<ILogger, string, Exception?> ModeCatchUpFailed =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(2002, "ModeCatchUpFailed"), "Unit {Code} could not ask its parent for the current mode; it goes on with its stored one");

    private readonly ILogger _logger;
    private bool _shuttingDown;
    private long _pushedVersion = -1;

    private readonly Live.LiveFeed _live;

    protected UnitGrain(IPersistentState<TRecord> store, Live.LiveFeed live, DispatchOptions options, ILogger logger)
    {
        _live = live;
        Options = options;
        Store = store;
        _logger = logger;
        Rollup = new RollupSchedule(this, options.RollupInterval, FlushAsync);
    }

    protected IPersistentState<TRecord> Store { get; }

    protected DispatchOptions Options { get; }

    /// <summary>The dispatch policy of this unit's effective mode.</summary>
    protected ModePolicy Policy => Options.PolicyFor(S.Mode.Mode);

    protected RollupSchedule Rollup { get; }

    protected TRecord S => Store.State;

    protected string Code => this.GetPrimaryKeyString();

    /// <summary>A call's span says which mode this unit runs in.</summary>
    public void Tag(System.Diagnostics.Activity activity) => Telemetry.DomainTags.ForMode(activity, S.Mode);

    public async Task JoinRosterAsync(RosterEntry entry)
    {
        S.Roster.Join(entry);
        await StoreChangeAsync();
    }

    public async Task LeaveRosterAsync(string workerId)
    {
        if (S.Roster.Leave(workerId))
        {
            await StoreChangeAsync();
        }
    }

    public Task WorkerChangedAsync(RosterEntry entry)
    {
        if (S.Roster.Update(entry))
        {
            MarkChanged();
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            // A silo shutting down only stores; pushing up would reach parents that are deactivating too.
            _shuttingDown = reason.ReasonCode == DeactivationReasonCode.ShuttingDown;
            await Rollup.FlushAsync();
        }
        catch (Exception ex)
        {
            FlushFailed(_logger, Code, ex);
        }
    }

    /// <summary>The fitting worker with the lowest relative load, reserved at once; null when nobody fits.</summary>
    protected RouteOutcome? TryDispatch(RegionLevel level, RouteRequest request)
    {
        if (S.Roster.Pick(request, Policy) is not { } pick)
        {
            return null;
        }

        S.Roster.Reserve(pick.WorkerId, request.Weight);
        return new RouteOutcome(level, Code, Assignee.Worker(pick.WorkerId), request.Passes, Policy.OverloadedAt);
    }

    /// <summary>
    /// Takes the parent's mode broadcast unless a newer one was already taken (one-way messages are not ordered).
    /// </summary>
    protected bool TakeInherited(long version)
    {
        if (version <= S.InheritedVersion)
        {
            return false;
        }

        S.InheritedVersion = version;
        return true;
    }

    /// <summary>
    /// At activation, without holding it up (the parent may be on a silo that just died): asks the parent for its mode
    /// once, on a one-shot timer, and applies it when the parent passed down a newer one than this unit took — a switch
    /// that came while this unit was not active, or one taken but not yet stored when its silo died. When the parent
    /// cannot be asked the unit goes on with its stored mode; the next broadcast reaches it.
    /// </summary>
    protected void CatchUpModeSoon()
    {
        if (RegionCode.Parent(Code) is not { } parent)
        {
            return;
        }

        IGrainTimer? timer = null;
        timer = this.RegisterGrainTimer(async _ =>
        {
            timer?.Dispose();
            try
            {
                // Taken as the broadcast it missed would have been (which ignores it unless it is newer).
                var current = await GrainFactory.GetRegion(parent).CurrentModeAsync();
                await ((IModeFollower)this).InheritModeAsync(current.Mode, current.Version);
            }
            catch (Exception ex)
            {
                ModeCatchUpFailed(_logger, Code, ex);
            }
        }, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    /// <summary>A change that only needs to reach the next roll-up.</summary>
    protected void MarkChanged()
    {
        S.Version++;
        Rollup.MarkDirty();
    }

    /// <summary>A change to state the summary does not show (a region's pool): stored at the next tick, not pushed.</summary>
    protected void MarkStored() => Rollup.MarkDirty();

    /// <summary>A change stored before the call returns (definitions, roster membership).</summary>
    protected async Task StoreChangeAsync()
    {
        S.Version++;
        await Store.WriteStateAsync();
        Rollup.MarkDirty();
    }

    /// <summary>This unit's live summary, or null while it is not defined.</summary>
    protected abstract UnitSummary? CurrentSummary();

    /// <summary>Work done once per roll-up tick before the state is stored (grids rebalance their workers here).</summary>
    protected virtual Task BeforeFlushAsync() => Task.CompletedTask;

    private async Task FlushAsync()
    {
        if (!_shuttingDown)
        {
            await BeforeFlushAsync();
        }

        await Store.WriteStateAsync();
        if (_shuttingDown || S.Version == _pushedVersion || CurrentSummary() is not { } summary)
        {
            return;
        }

        if (RegionCode.Parent(Code) is { } parent)
        {
            await GrainFactory.GetRegion(parent).ChildChangedAsync(summary);
        }

        _live.Publish(LiveUpdate.Of(summary));
        _pushedVersion = summary.Version;
    }
}
