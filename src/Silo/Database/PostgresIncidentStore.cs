using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using GridDispatch.Domain;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace GridDispatch.Silo.Database;

/// <summary>
/// The incident store of the durable silo, on incident_events, with group commit: appends wait in a bounded queue
/// (AppendAsync waits for room when it is full) and one writer per silo commits them in batches — one transaction for
/// up to <see cref="IncidentStoreOptions.MaxBatchRows"/> rows, written at the latest <see cref="IncidentStoreOptions.Linger"/>
/// after the first of them was queued, with up to <see cref="IncidentStoreOptions.WritersInFlight"/> batches committing
/// at once. Each AppendAsync returns when its batch has committed.
/// <para>
/// The optimistic check is the row itself: an append at version v inserts seq v+1…v+k with ON CONFLICT DO NOTHING (that
/// row v is stored is not checked: see <see cref="IncidentEventsTable"/>). An append that did not get all its rows is a conflict: the transaction
/// is rolled back, that append fails with <see cref="IncidentConflictException"/>, and the others are written again.
/// (An append whose very rows are already there — a retry after a commit whose answer was lost — has succeeded.) A
/// batch holds one append per incident, so results are those of committing the appends one by one in queue order.
/// </para>
/// <para>
/// Failures: transient ones are retried (<see cref="StoreResilience"/>); a batch that still fails fails all its
/// appends with <see cref="StoreUnavailableException"/> and readiness drops until a commit or a probe succeeds. A
/// batch PostgreSQL refuses for good (<see cref="PostgresErrors.IsPermanent(Exception)"/>) is bisected until the
/// appends that cause it stand alone; only those fail, with a <see cref="DomainException"/>.
/// </para>
/// </summary>
public sealed partial class PostgresIncidentStore : BackgroundService, IIncidentStore, IEventLogHealth, ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan ProbeEvery = TimeSpan.FromSeconds(1);

    private readonly Channel<PendingAppend> _queue;
    private readonly IncidentEventsTable _table;
    private readonly IncidentStoreOptions _options;
    private readonly ILogger<PostgresIncidentStore> _logger;
    private readonly StoreResilience _resilience;
    private readonly StoreResilience _readResilience;
    private readonly DatabasePing _ping;
    private readonly StoreMetrics _metrics;
    private readonly CancellationTokenSource _abort = new();
    private Task<bool>? _wait;
    private PendingAppend? _carried;
    private int _inFlight;
    private volatile bool _failing;

    public PostgresIncidentStore(DatabaseOptions database, IncidentStoreOptions options, IMeterFactory meters, ILogger<PostgresIncidentStore> logger)
    {
        options.Validate();
        _table = new IncidentEventsTable(database.ConnectionString);
        _options = options;
        _logger = logger;
        _resilience = new StoreResilience(options);
        _readResilience = new StoreResilience(options, breaker: false);
        _ping = new DatabasePing(database.ConnectionString);
        _metrics = new StoreMetrics(meters);
        _queue = Channel.CreateBounded<PendingAppend>(new BoundedChannelOptions(options.Capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Appends waiting for a commit: queued, or in the batch being written.</summary>
    public int Backlog => _queue.Reader.Count + Volatile.Read(ref _inFlight);

    /// <summary>False while batches fail (until a commit or a probe succeeds) or while the queue is over 90 % full.</summary>
    public bool IsReady => !_failing && _queue.Reader.Count * 10L <= _options.Capacity * 9L;

    public string Status => _failing ? "incident store: commits are failing, appends are refused"
        : !IsReady ? $"incident store: {_queue.Reader.Count} of {_options.Capacity} appends queued"
        : "ok";

    public Task<bool> DatabaseAnswersAsync() => _ping.AnswersAsync();

    /// <summary>Starts with the storage providers, before grains run, and stops after the grains are gone.</summary>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PostgresIncidentStore), ServiceLifecycleStage.RuntimeStorageServices, StartAsync, StopAsync);

    public async Task AppendAsync(string incidentId, int expectedVersion, IReadOnlyList<TimelineEntry> entries, DateTimeOffset? nextDue = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(incidentId);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Seq != expectedVersion + i + 1)
            {
                throw new ArgumentException($"Entry {i} of the append is numbered {entries[i].Seq}, not {expectedVersion + i + 1}", nameof(entries));
            }
        }

        if (entries.Count == 0)
        {
            return;
        }

        // The payload is serialized here, on the caller's thread, not by the one writer.
        var append = new PendingAppend(incidentId, expectedVersion, [.. entries], [.. entries.Select(TimelineRows.Payload)], nextDue);
        try
        {
            await _queue.Writer.WriteAsync(append);
        }
        catch (ChannelClosedException)
        {
            throw new StoreUnavailableException("The incident store is stopping; the append was not taken");
        }

        await append.Done.Task;
        _metrics.AppendDuration.Record(Stopwatch.GetElapsedTime(append.Queued).TotalSeconds);
    }

    public async Task<StoredTimeline> ReadAsync(string incidentId, int afterSeq = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(incidentId);
        try
        {
            return await ReadGuardedAsync($"incident {incidentId}", (table, ct) => table.ReadAsync(incidentId, afterSeq, ct));
        }
        catch (StoreUnavailableException ex) when (ex.InnerException is not null)
        {
            LogReadFailed(ex, incidentId);
            throw;
        }
    }

    public Task<IReadOnlyList<DueIncident>> DueAsync(int shard, DateTimeOffset after, DateTimeOffset upTo, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, DeadlineShards.Count);
        return ReadGuardedAsync($"the due deadlines of shard {shard}", (table, ct) => table.DueAsync(shard, after, upTo, limit, ct));
    }

    public Task<IReadOnlyList<string>> OpenInGridAsync(string gridCode, int limit)
    {
        ArgumentException.ThrowIfNullOrEmpty(gridCode);
        return ReadGuardedAsync($"grid {gridCode}'s open incidents", (table, ct) => table.OpenInGridAsync(gridCode, limit, ct));
    }

    /// <summary>
    /// A read, refused at once while the writer finds the database failing (it probes for itself; readers would only
    /// add failures), and not through the writer's circuit breaker: reads refused by an open circuit would outlast the
    /// outage (the circuit stays open while reads keep failing). Failures cross silos as <see cref="StoreUnavailableException"/>.
    /// </summary>
    private async Task<T> ReadGuardedAsync<T>(string what, Func<IncidentEventsTable, CancellationToken, ValueTask<T>> read)
    {
        if (_failing)
        {
            throw new StoreUnavailableException($"The incident store is failing; {what} is read once it recovers");
        }

        try
        {
            return await _readResilience.Pipeline.ExecuteAsync(static (s, ct) => s.Read(s.Table, ct), (Table: _table, Read: read), CancellationToken.None);
        }
        catch (Exception ex)
        {
            throw new StoreUnavailableException($"The incident store cannot read {what} now", StoreResilience.Portable(ex));
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Take no new appends and commit those queued, unless the host runs out of patience first.
        _queue.Writer.TryComplete();
        await using (cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), _abort))
        {
            if (ExecuteTask is { } running)
            {
                await running;
            }
            else
            {
                FailQueued([]); // never started: nothing will write them
            }
        }

        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _abort.Cancel();
        base.Dispose();
    }

    /// <summary>
    /// The writer, on the thread pool whatever context starts it (the silo lifecycle), stopped by
    /// <see cref="StopAsync"/> once it has committed what is queued.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(RunAsync, CancellationToken.None);

    private async Task RunAsync()
    {
        var writing = new List<(Task Done, HashSet<string> Incidents)>();
        var batch = new List<PendingAppend>();
        try
        {
            while (await NextBatchAsync(batch, writing))
            {
                // Up to WritersInFlight batches commit at once (PostgreSQL flushes their WAL together). An incident has
                // one append in flight at a time, as its grain awaits it; one that came again would wait for the
                // batches before it, so appends of one incident still commit in order.
                var incidents = batch.Select(a => a.IncidentId).ToHashSet(StringComparer.Ordinal);
                writing.RemoveAll(w => w.Done.IsCompleted);     // NextBatchAsync already waited for a free writer
                while (writing.Count >= _options.WritersInFlight || (writing.Count > 0 && writing.Any(w => w.Incidents.Overlaps(incidents))))
                {
                    var done = await Task.WhenAny(writing.Select(w => w.Done));
                    writing.RemoveAll(w => w.Done == done);
                }

                Interlocked.Add(ref _inFlight, batch.Count);
                writing.Add((WriteCountedAsync(batch), incidents));
                batch = [];
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
        }
        finally
        {
            await Task.WhenAll(writing.Select(w => w.Done));
            FailQueued([.. batch, .. _carried is null ? [] : new[] { _carried }]);
        }
    }

    private async Task WriteCountedAsync(List<PendingAppend> batch)
    {
        await Task.Yield();     // the loop goes on filling the next batch while this one commits
        using var span = Telemetry.CommitSpans.Start("incident-store commit", batch.Select(a => a.Caller), batch.Count);
        try
        {
            await WriteAsync(batch);
        }
        finally
        {
            Interlocked.Add(ref _inFlight, -batch.Count);
        }
    }

    /// <summary>Closes the queue and fails what is still in it, and <paramref name="taken"/>, as not stored.</summary>
    private void FailQueued(List<PendingAppend> taken)
    {
        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out var queued))
        {
            taken.Add(queued);
        }

        foreach (var append in taken)
        {
            append.Done.TrySetException(new StoreUnavailableException("The incident store stopped before committing the append; nothing was stored"));
        }
    }

    /// <summary>
    /// Fills <paramref name="batch"/>: waits for a first append (probing the database every second while commits are
    /// failing), then takes what is queued until the row limit, or until the linger has passed and a writer is free —
    /// while every writer is busy the batch keeps growing, so the busier the database the larger the batch, and an idle
    /// one is written to at once. An append of an incident already in the batch, or one that would pass the row limit,
    /// ends it and opens the next. False once stopped.
    /// </summary>
    private async Task<bool> NextBatchAsync(List<PendingAppend> batch, List<(Task Done, HashSet<string> Incidents)> writing)
    {
        var first = _carried;
        _carried = null;
        while (first is null)
        {
            if (_queue.Reader.TryRead(out first))
            {
                break;
            }

            // Every second at least, so a batch that failed while this wait had already begun still starts the probe.
            var wake = await WaitAsync(ProbeEvery);
            if (wake == Wake.Closed)
            {
                return false;
            }

            if (wake == Wake.TimedOut && _failing && await _ping.AnswersAsync(fresh: true))
            {
                SetHealthy();
            }
        }

        batch.Add(first);
        var rows = first.Entries.Length;
        var incidents = new HashSet<string>(StringComparer.Ordinal) { first.IncidentId };
        bool Full() => _carried is not null || rows >= _options.MaxBatchRows;
        void Drain()
        {
            while (!Full() && _queue.Reader.TryRead(out var next))
            {
                if (rows + next.Entries.Length > _options.MaxBatchRows || !incidents.Add(next.IncidentId))
                {
                    _carried = next;
                    return;
                }

                batch.Add(next);
                rows += next.Entries.Length;
            }
        }

        // One sleep for the linger and one wait per busy spell, then whatever queued meanwhile: the loop wakes once
        // per batch, not once per append (a wake per append cost a tenth of the silo's CPU in the full loop).
        Drain();
        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), first.Queued + (long)(_options.Linger.TotalSeconds * Stopwatch.Frequency));
        if (!Full() && left > TimeSpan.Zero)
        {
            await Task.Delay(left);
            Drain();
        }

        while (!Full() && writing.Count(w => !w.Done.IsCompleted) >= _options.WritersInFlight)
        {
            await Task.WhenAny(writing.Select(w => w.Done));
            Drain();
        }

        return true;
    }

    /// <summary>Waits until an append is queued, the queue is closed or <paramref name="timeout"/> passes.</summary>
    private async Task<Wake> WaitAsync(TimeSpan timeout)
    {
        _abort.Token.ThrowIfCancellationRequested();
        _wait ??= _queue.Reader.WaitToReadAsync(_abort.Token).AsTask();
        if (!_wait.IsCompleted && timeout != Timeout.InfiniteTimeSpan)
        {
            // No token on the delay: a timer that outlives its wait is gone a moment later, a registration is not.
            await Task.WhenAny(_wait, Task.Delay(timeout));
            if (!_wait.IsCompleted)
            {
                return Wake.TimedOut;
            }
        }

        var wait = _wait;
        _wait = null;
        return await wait ? Wake.Ready : Wake.Closed;
    }

    /// <summary>Commits the appends, failing each that conflicts or cannot be stored. Never throws.</summary>
    private async Task WriteAsync(List<PendingAppend> appends)
    {
        var pending = appends;
        while (pending.Count > 0)
        {
            var started = Stopwatch.GetTimestamp();
            CommitOutcome outcome;
            try
            {
                outcome = await _resilience.Pipeline.ExecuteAsync(
                    static (s, ct) => s.Table.TryCommitAsync(s.Appends, ct), (Table: _table, Appends: pending), _abort.Token);
            }
            catch (Exception ex) when (PostgresErrors.IsPermanent(ex))
            {
                await SplitAsync(pending, ex);
                return;
            }
            catch (Exception ex)
            {
                // The database is away, slow or stopping (or the code is wrong): nothing of the batch was stored,
                // unless a commit's answer was lost on every attempt.
                SetFailing(ex, pending);
                foreach (var append in pending)
                {
                    append.Done.TrySetException(new StoreUnavailableException(
                        "The incident store cannot commit now; the append was not stored", StoreResilience.Portable(ex)));
                }

                return;
            }

            if (outcome.Conflicts.Count > 0)
            {
                // Rolled back: fail the appends that conflict and write the others again.
                foreach (var append in outcome.Conflicts)
                {
                    _metrics.Conflicts.Add(1);
                    LogConflict(append.IncidentId, append.ExpectedVersion);
                    append.Done.TrySetException(new IncidentConflictException(append.IncidentId, append.ExpectedVersion));
                }

                pending = [.. pending.Except(outcome.Conflicts)];
                continue;
            }

            _metrics.Committed(pending.Count, outcome.Rows, Stopwatch.GetElapsedTime(started));
            SetHealthy();
            foreach (var append in pending)
            {
                append.Done.TrySetResult();
            }

            return;
        }
    }

    /// <summary>PostgreSQL refused the batch for good: write each half on its own, until the culprit stands alone.</summary>
    private async Task SplitAsync(List<PendingAppend> appends, Exception error)
    {
        if (appends.Count > 1)
        {
            var half = appends.Count / 2;
            await WriteAsync(appends.GetRange(0, half));
            await WriteAsync(appends.GetRange(half, appends.Count - half));
            return;
        }

        var append = appends[0];
        var sqlState = PostgresErrors.SqlState(error) ?? "none";
        LogRefused(append.IncidentId, append.ExpectedVersion, sqlState, error.GetType().Name);
        append.Done.TrySetException(error is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: IncidentEventsTable.IntakeIndex }
            ? new DomainException(DomainErrors.Conflict, "Another incident was reported with this source and external id; nothing was stored")
            : new DomainException(DomainErrors.InvalidInput, $"The incident store refuses this command's entries for good (SQL state {sqlState}); nothing was stored"));
    }

    private void SetFailing(Exception ex, List<PendingAppend> batch)
    {
        if (!_failing)
        {
            _failing = true;
            LogFailing(ex, batch.Count, Backlog);
        }
    }

    private void SetHealthy()
    {
        if (_failing)
        {
            _failing = false;
            LogRecovered(Backlog);
        }
    }

    private enum Wake
    {
        Ready,
        TimedOut,
        Closed,
    }

    [LoggerMessage(EventId = 8201, Level = LogLevel.Warning,
        Message = "Incident store cannot commit (a batch of {Appends} appends failed, {Backlog} waiting); appends are refused until the database answers")]
    private partial void LogFailing(Exception ex, int appends, int backlog);

    [LoggerMessage(EventId = 8202, Level = LogLevel.Information, Message = "Incident store commits again; {Backlog} appends waiting")]
    private partial void LogRecovered(int backlog);

    // Never the payload: it can hold a reporter's name and phone number.
    [LoggerMessage(EventId = 8203, Level = LogLevel.Warning,
        Message = "PostgreSQL refused for good the append to incident {IncidentId} after version {ExpectedVersion} (SQL state {SqlState}, {Error}); the command was refused")]
    private partial void LogRefused(string incidentId, int expectedVersion, string sqlState, string error);

    [LoggerMessage(EventId = 8204, Level = LogLevel.Debug, Message = "Append to incident {IncidentId} after version {ExpectedVersion} conflicted: another writer was first")]
    private partial void LogConflict(string incidentId, int expectedVersion);

    [LoggerMessage(EventId = 8205, Level = LogLevel.Warning, Message = "Incident store could not read incident {IncidentId}")]
    private partial void LogReadFailed(Exception ex, string incidentId);
}
