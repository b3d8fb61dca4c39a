using GridDispatch.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GridDispatch.Incidents;

/// <summary>How far a deadline shard has been swept: every due time up to here has woken its incident.</summary>
[GenerateSerializer, Alias("GridDispatch.SweepMark.v1")]
public sealed class SweepMark
{
    [Id(0)] public DateTimeOffset SweptUntil { get; set; } = DateTimeOffset.MinValue;
}

/// <summary>
/// Wakes the incidents of one deadline shard whose recorded due time has passed (deadlines are data: see
/// <see cref="IIncidentStore.DueAsync"/>). While active it sweeps every <see cref="DispatchOptions.DeadlineSweepInterval"/>
/// from where it last got to, less <see cref="Overlap"/> (a due time committed a little after a sweep passed it, or
/// stamped by a silo whose clock runs behind, is still found); its reminder brings it back after its silo died. It
/// moves its mark past a due time only once that incident was woken, and stores the mark at most every
/// <see cref="SaveEvery"/> and when it deactivates: a lost mark costs a second wake, which incidents shrug off.
/// Within the overlap it remembers what it woke (incident and due time), so a due time is woken once per activation,
/// not once per sweep; bound: one entry per incident of the shard due in the last <see cref="Overlap"/>.
/// </summary>
public sealed partial class DeadlineSweepGrain(
    [PersistentState("deadline-sweep", GridDispatchStorage.Name)] IPersistentState<SweepMark> mark,
    IIncidentStore store,
    EngineClock clock,
    IOptions<DispatchOptions> options,
    ILogger<DeadlineSweepGrain> logger) : Grain, IDeadlineSweepGrain, IRemindable
{
    private const string ReminderName = "sweep";
    private const int PageSize = 500;
    private const int Parallelism = 32;
    private static readonly TimeSpan Overlap = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan SaveEvery = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, DateTimeOffset> _woken = new(StringComparer.Ordinal);
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
        var swept = mark.State.SweptUntil;
        var after = swept == DateTimeOffset.MinValue ? swept : swept - Overlap;
        DateTimeOffset? firstFailed = null;
        var woken = 0;
        foreach (var (id, at) in _woken.Where(w => w.Value <= after).ToList())
        {
            _woken.Remove(id);      // out of the overlap: not found again
        }

        while (true)
        {
            var due = await store.DueAsync(Shard, after, upTo, PageSize);
            foreach (var chunk in due.Where(d => !(_woken.TryGetValue(d.IncidentId, out var at) && at == d.DueAt)).Chunk(Parallelism))
            {
                var results = await Task.WhenAll(chunk.Select(WakeAsync));
                for (var i = 0; i < chunk.Length; i++)
                {
                    if (results[i])
                    {
                        _woken[chunk[i].IncidentId] = chunk[i].DueAt;
                        woken++;
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

        // Up to the first incident that could not be woken (it is found again next time), else up to this sweep's end.
        mark.State.SweptUntil = firstFailed is { } first && first.AddTicks(-1) < upTo ? first.AddTicks(-1) : upTo;
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

    private async Task<bool> WakeAsync(DueIncident due)
    {
        try
        {
            await GrainFactory.Reference<IIncidentGrain>(due.IncidentId).WakeAsync(due.DueAt);
            return true;
        }
        catch (Exception ex)
        {
            LogWakeFailed(ex, due.IncidentId, Shard);
            return false;
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Deadline shard {Shard} could not be swept; it tries again at the next tick")]
    private partial void LogSweepFailed(Exception ex, int shard);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Deadline shard {Shard} waits for the store: {Reason}")]
    private partial void LogSweepDeferred(int shard, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Incident {IncidentId} of deadline shard {Shard} could not be woken; it is tried again")]
    private partial void LogWakeFailed(Exception ex, string incidentId, int shard);
}
