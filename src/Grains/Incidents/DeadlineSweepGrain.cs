using GridDispatch.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Incidents;

/// <summary>How far a deadline shard has been swept: every due time up to here has woken its incident.</summary>
[GenerateSerializer, Alias("GridDispatch.SweepMark.v1")]
public sealed class SweepMark
{
    /// <summary>The incidents' mark (the first source; stored here before households had due times).</summary>
    [Id(0)] public DateTimeOffset SweptUntil { get; set; } = DateTimeOffset.MinValue;

    /// <summary>The marks of the other sources, by name.</summary>
    [Id(1)] public Dictionary<string, DateTimeOffset> Others { get; set; } = new(StringComparer.Ordinal);

    public DateTimeOffset Get(string source) => source == DueSources.Incidents ? SweptUntil : Others.GetValueOrDefault(source, DateTimeOffset.MinValue);

    public void Set(string source, DateTimeOffset at)
    {
        if (source == DueSources.Incidents)
        {
            SweptUntil = at;
        }
        else
        {
            Others[source] = at;
        }
    }
}

/// <summary>
/// What the deadline sweepers wake: rows with a due time per shard, and the grain each row wakes. A source
/// <paramref name="FromStart"/> is read from the beginning of time at every sweep, without a mark: every wake of one of
/// its rows moves that row's due time into the future (or clears it), so what is still in the past is exactly what has
/// not been woken yet — however late its write committed, or however far the clock of the silo that wrote it lagged.
/// </summary>
public sealed record DueSource(string Name, Func<int, DateTimeOffset, DateTimeOffset, int, Task<IReadOnlyList<(string Id, DateTimeOffset DueAt)>>> DueAsync,
    Func<IGrainFactory, string, DateTimeOffset, Task> WakeAsync, bool FromStart = false);

/// <summary>The sources swept: incidents' deadlines, and households' revisits and checks (issue 13), on the same shards.</summary>
public static class DueSources
{
    public const string Incidents = "incidents";
    public const string Households = "households";

    public static IReadOnlyList<DueSource> Of(IIncidentStore incidents, Register.IHouseholdStore households) =>
    [
        new(Incidents, async (shard, after, upTo, limit) => [.. (await incidents.DueAsync(shard, after, upTo, limit)).Select(d => (d.IncidentId, d.DueAt))],
            (grains, id, at) => grains.Reference<IIncidentGrain>(id).WakeAsync(at)),
        new(Households, async (shard, after, upTo, limit) => [.. (await households.DueAsync(shard, after, upTo, limit)).Select(d => (d.Id, d.DueAt))],
            (grains, id, at) => grains.Reference<IHouseholdGrain>(id).WakeAsync(at), FromStart: true),
    ];
}

/// <summary>
/// Wakes the incidents (and households: <see cref="DueSources"/>) of one deadline shard whose recorded due time has passed (deadlines are data: see
/// <see cref="IIncidentStore.DueAsync"/>). While active it sweeps every <see cref="DispatchOptions.DeadlineSweepInterval"/>
/// from where it last got to, less <see cref="Overlap"/> (a due time committed a little after a sweep passed it, or
/// stamped by a silo whose clock runs behind, is still found); its reminder brings it back after its silo died. It
/// moves its mark past a due time only once that incident was woken, and stores the mark at most every
/// <see cref="SaveEvery"/> and when it deactivates: a lost mark costs a second wake, which incidents shrug off.
/// Within the overlap it remembers what it woke (row and due time), so a due time is woken once per activation,
/// not once per sweep; bound: one entry per incident or household of the shard due in the last <see cref="Overlap"/>.
/// </summary>
public sealed partial class DeadlineSweepGrain(
    [PersistentState("deadline-sweep", GridDispatchStorage.Name)] IPersistentState<SweepMark> mark,
    IIncidentStore store,
    Register.IHouseholdStore households,
    EngineClock clock,
    IOptions<DispatchOptions> options,
    ILogger<DeadlineSweepGrain> logger) : Grain, IDeadlineSweepGrain, IRemindable
{
    private const string ReminderName = "sweep";
    private const int PageSize = 500;
    private const int Parallelism = 32;
    private static readonly TimeSpan Overlap = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan SaveEvery = TimeSpan.FromSeconds(30);

    private readonly Dictionary<(string Source, string Id), DateTimeOffset> _woken = [];
    private IReadOnlyList<DueSource>? _sources;
    private IGrainTimer? _timer;
    private DateTimeOffset _savedAt;
    private Task<int>? _sweeping;

    private int Shard => (int)this.GetPrimaryKeyLong();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Shard is < 0 or >= DeadlineShards.Count)
        {
            throw new InvalidOperationException($"No deadline shard {Shard}: shards are 0 to {DeadlineShards.Count - 1}");
        }

        var every = options.Value.DeadlineSweepInterval;
        _timer = this.RegisterGrainTimer(static (self, _) => self.TickAsync(), this,
            new GrainTimerCreationOptions(every, every) { KeepAlive = true });
        _savedAt = clock.Now;
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        try
        {
            await mark.WriteStateAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            LogSweepFailed(ex, Shard);
        }
    }

    public async Task StartAsync()
    {
        if (await this.GetReminder(ReminderName) is null)
        {
            await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }
    }

    public Task KeepAliveAsync() => Task.CompletedTask;

    /// <summary>The reminder only brings the sweeper back; its timer does the sweeping.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    /// <summary>One sweep at a time: a call while one runs shares it.</summary>
    public Task<int> SweepAsync() => _sweeping is { IsCompleted: false } running ? running : _sweeping = SweepOnceAsync();

    private async Task TickAsync()
    {
        try
        {
            await SweepAsync();
        }
        catch (StoreUnavailableException ex)
        {
            LogSweepDeferred(Shard, ex.Message); // the store reports its own outage; the sweep resumes with it
        }
        catch (Exception ex)
        {
            LogSweepFailed(ex, Shard);
        }
    }

    private async Task<int> SweepOnceAsync()
    {
        var upTo = clock.Now;
        var woken = 0;
        foreach (var source in _sources ??= DueSources.Of(store, households))
        {
            woken += await SweepAsync(source, upTo);
        }

        if (upTo - _savedAt >= SaveEvery)
        {
            try
            {
                await mark.WriteStateAsync();
            }
            catch (Exception ex) when (this.EndsActivation(ex))
            {
                return woken;   // another activation of this shard's sweeper wrote its mark: this one ends
            }

            _savedAt = upTo;
        }

        return woken;
    }

    /// <summary>
    /// One source's due rows, a page at a time. A marked source reads from its mark less the overlap and skips what
    /// this activation woke already; a source <see cref="DueSource.FromStart"/> reads everything due, since its wakes
    /// move every past due time on.
    /// </summary>
    private async Task<int> SweepAsync(DueSource source, DateTimeOffset upTo)
    {
        var marked = !source.FromStart;
        var swept = mark.State.Get(source.Name);
        var after = !marked || swept == DateTimeOffset.MinValue ? DateTimeOffset.MinValue : swept - Overlap;
        DateTimeOffset? firstFailed = null;
        var woken = 0;
        foreach (var (key, _) in _woken.Where(w => w.Key.Source == source.Name && w.Value <= after).ToList())
        {
            _woken.Remove(key);      // out of the overlap: not found again
        }

        while (true)
        {
            var due = await source.DueAsync(Shard, after, upTo, PageSize);
            foreach (var chunk in due.Where(d => !(marked && _woken.TryGetValue((source.Name, d.Id), out var at) && at == d.DueAt)).Chunk(Parallelism))
            {
                var results = await Task.WhenAll(chunk.Select(d => WakeAsync(source, d.Id, d.DueAt)));
                for (var i = 0; i < chunk.Length; i++)
                {
                    if (results[i])
                    {
                        woken++;
                        if (marked)
                        {
                            _woken[(source.Name, chunk[i].Id)] = chunk[i].DueAt;
                        }
                    }
                    else
                    {
                        firstFailed = firstFailed is { } f && f <= chunk[i].DueAt ? f : chunk[i].DueAt;
                    }
                }
            }

            if (due.Count < PageSize || due[^1].DueAt == after)
            {
                break;
            }

            after = due[^1].DueAt;
        }

        if (marked)
        {
            // Up to the first row that could not be woken (it is found again next time), else up to this sweep's end.
            mark.State.Set(source.Name, firstFailed is { } first && first.AddTicks(-1) < upTo ? first.AddTicks(-1) : upTo);
        }

        return woken;
    }

    private async Task<bool> WakeAsync(DueSource source, string id, DateTimeOffset dueAt)
    {
        try
        {
            await source.WakeAsync(GrainFactory, id, dueAt);
            return true;
        }
        catch (Exception ex)
        {
            LogWakeFailed(ex, source.Name, id, Shard);
            return false;
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Deadline shard {Shard} could not be swept; it tries again at the next tick")]
    private partial void LogSweepFailed(Exception ex, int shard);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Deadline shard {Shard} waits for the store: {Reason}")]
    private partial void LogSweepDeferred(int shard, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "{Source} row {Id} of deadline shard {Shard} could not be woken; it is tried again")]
    private partial void LogWakeFailed(Exception ex, string source, string id, int shard);
}
