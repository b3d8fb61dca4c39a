using System.Diagnostics.Metrics;
using GridDispatch.Domain;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Grain-state writes of the durable silo in group commits. Through the ADO.NET provider every write was its own
/// transaction: the storm bench on PostgreSQL committed 469,538 transactions for 469,540 rows while loading the city,
/// each waiting for its own WAL flush. Here writes wait in a bounded queue and are committed in batches of up to
/// <see cref="DatabaseOptions.StateWriteBatch"/> (one statement, <see cref="GrainStateTable"/>), up to
/// <see cref="DatabaseOptions.StateWritersInFlight"/> batches at once; while every writer is busy the next batch keeps
/// growing, so batches are large exactly when the database is busy and a lone write on an idle silo goes at once.
/// A grain's write returns when its batch has committed.
/// <para>
/// Per grain nothing changes: the version check is the provider's (a write that lost a race fails with
/// <see cref="InconsistentStateException"/> and changes nothing), and a batch holds one write per row, with batches in
/// flight never sharing a row, so writes of one row commit in the order they were queued. Transient failures are
/// retried (<see cref="StoreResilience"/>); a batch that still fails fails its writes with
/// <see cref="StoreUnavailableException"/>; a batch PostgreSQL refuses for good is halved until the write that causes
/// it stands alone, so one bad row cannot fail the grains batched with it.
/// </para>
/// </summary>
public sealed partial class GrainStateWriter : StorageQueue<PendingStateWrite>
{
    private readonly GrainStateTable _table;
    private readonly DatabaseOptions _options;
    private readonly StoreResilience _resilience;
    private readonly ILogger<GrainStateWriter> _logger;
    private readonly Counter<long> _commitCounter;
    private readonly Counter<long> _writeCounter;
    private PendingStateWrite? _carried;
    private long _commits;
    private long _writes;
    private volatile bool _failing;

    public GrainStateWriter(DatabaseOptions database, string serviceId, IMeterFactory meters, ILogger<GrainStateWriter> logger)
        : base(database.StateWriteQueue, "grain-state writer")
    {
        database.Validate();
        _options = database;
        _table = new GrainStateTable(database.ConnectionString, serviceId);
        _resilience = new StoreResilience(retryAttempts: 3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), breaker: true);
        _logger = logger;
        var meter = GridDispatchMeter.Create(meters);
        _commitCounter = meter.CreateCounter<long>("griddispatch.grainstate.commits", "{transaction}", "Transactions the grain-state writer committed");
        _writeCounter = meter.CreateCounter<long>("griddispatch.grainstate.writes", "{write}", "Grain-state writes committed");
    }

    /// <summary>Transactions committed since start.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Grain-state writes committed since start.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>
    /// Writes <paramref name="payload"/> to the row of <paramref name="key"/> if it is still at <paramref name="expected"/>
    /// (null: there is no row yet) and returns the new version.
    /// </summary>
    /// <exception cref="InconsistentStateException">Another activation wrote the row first; nothing was written.</exception>
    /// <exception cref="StoreUnavailableException">The database cannot take the write now; nothing was written.</exception>
    public async Task<int> WriteAsync(GrainStateRowKey key, int? expected, byte[] payload)
    {
        var write = new PendingStateWrite(key, expected, payload);
        await EnqueueAsync(write);
        return await write.Done.Task;
    }

    protected override async Task RunAsync()
    {
        var writing = new List<(Task Done, HashSet<GrainStateRowKey> Keys)>();
        var batch = new List<PendingStateWrite>();
        var keys = new HashSet<GrainStateRowKey>();
        try
        {
            while (await NextBatchAsync(batch, keys, writing))
            {
                writing.RemoveAll(w => w.Done.IsCompleted);
                while (writing.Count >= _options.StateWritersInFlight || writing.Any(w => w.Keys.Overlaps(keys)))
                {
                    var done = await Task.WhenAny(writing.Select(w => w.Done));
                    writing.RemoveAll(w => w.Done == done);
                }

                writing.Add((WriteInBackgroundAsync(batch), keys));
                (batch, keys) = ([], []);
            }
        }
        catch (OperationCanceledException) when (Abort.IsCancellationRequested)
        {
        }
        finally
        {
            await Task.WhenAll(writing.Select(w => w.Done));
            FailQueued([.. batch, .. _carried is null ? [] : new[] { _carried }]);
        }
    }

    /// <summary>
    /// Fills <paramref name="batch"/> and <paramref name="keys"/>, its rows: a first write, then what is queued up to the
    /// batch limit, and more while every writer is busy. A second write of a row already in the batch ends it and opens
    /// the next. False once stopped.
    /// </summary>
    private async Task<bool> NextBatchAsync(
        List<PendingStateWrite> batch, HashSet<GrainStateRowKey> keys, List<(Task Done, HashSet<GrainStateRowKey> Keys)> writing)
    {
        var first = _carried;
        _carried = null;
        while (first is null && !Queue.Reader.TryRead(out first))
        {
            if (!await Queue.Reader.WaitToReadAsync(Abort.Token))
            {
                return false;
            }
        }

        batch.Add(first);
        keys.Add(first.Key);
        bool Full() => _carried is not null || batch.Count >= _options.StateWriteBatch;
        void Drain()
        {
            while (!Full() && Queue.Reader.TryRead(out var next))
            {
                if (!keys.Add(next.Key))
                {
                    _carried = next;
                    return;
                }

                batch.Add(next);
            }
        }

        Drain();
        while (!Full() && writing.Count(w => !w.Done.IsCompleted) >= _options.StateWritersInFlight)
        {
            await Task.WhenAny(writing.Select(w => w.Done));
            Drain();
        }

        return true;
    }

    private async Task WriteInBackgroundAsync(List<PendingStateWrite> batch)
    {
        await Task.Yield();     // the loop goes on filling the next batch while this one commits
        using var span = Telemetry.CommitSpans.Start("grain-state commit", batch.Select(w => w.Caller), batch.Count);
        await WriteAsync(batch);
    }

    /// <summary>Commits the batch, completing every write in it with its version or its failure. Never throws.</summary>
    private async Task WriteAsync(List<PendingStateWrite> batch)
    {
        int?[] written;
        try
        {
            written = await _resilience.Pipeline.ExecuteAsync(
                static (s, ct) => s.Table.WriteAsync(s.Batch, ct), (Table: _table, Batch: batch), Abort.Token);
        }
        catch (Exception ex) when (PostgresErrors.IsPermanent(ex))
        {
            await SplitAsync(batch, ex);
            return;
        }
        catch (Exception ex)
        {
            if (!_failing)
            {
                _failing = true;
                LogFailing(ex, batch.Count, Backlog);
            }

            foreach (var write in batch)
            {
                write.Done.TrySetException(new StoreUnavailableException(
                    "Grain state cannot be written now; nothing was written", StoreResilience.Portable(ex)));
            }

            return;
        }

        if (_failing)
        {
            _failing = false;
            LogRecovered(Backlog);
        }

        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _writes, batch.Count);
        _commitCounter.Add(1);
        _writeCounter.Add(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var write = batch[i];
            if (written[i] is { } version)
            {
                write.Done.TrySetResult(version);
            }
            else
            {
                write.Done.TrySetException(new InconsistentStateException(
                    $"Version conflict writing {write.Key.Type} state {write.Key.Extension ?? write.Key.N1.ToString(System.Globalization.CultureInfo.InvariantCulture)}: another activation wrote it after version {write.Expected?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}",
                    storedEtag: "", currentEtag: write.Expected?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""));
            }
        }
    }

    /// <summary>PostgreSQL refused the batch for good: write each half on its own, until the culprit stands alone.</summary>
    private async Task SplitAsync(List<PendingStateWrite> batch, Exception error)
    {
        if (batch.Count > 1)
        {
            var half = batch.Count / 2;
            await WriteAsync(batch.GetRange(0, half));
            await WriteAsync(batch.GetRange(half, batch.Count - half));
            return;
        }

        var write = batch[0];
        var sqlState = PostgresErrors.SqlState(error) ?? "none";
        LogRefused(write.Key.Type, sqlState, error.GetType().Name);
        write.Done.TrySetException(new DomainException(DomainErrors.InvalidInput,
            $"PostgreSQL refuses this {write.Key.Type} state for good (SQL state {sqlState}); nothing was written"));
    }

    protected override void Fail(PendingStateWrite item, StoreUnavailableException reason) => item.Done.TrySetException(reason);

    [LoggerMessage(EventId = 8211, Level = LogLevel.Warning,
        Message = "Grain state cannot be written (a batch of {Writes} writes failed, {Backlog} waiting); grains' writes fail until the database answers")]
    private partial void LogFailing(Exception ex, int writes, int backlog);

    [LoggerMessage(EventId = 8212, Level = LogLevel.Information, Message = "Grain state is written again; {Backlog} writes waiting")]
    private partial void LogRecovered(int backlog);

    [LoggerMessage(EventId = 8213, Level = LogLevel.Warning,
        Message = "PostgreSQL refused for good a write of {StateName} state (SQL state {SqlState}, {Error}); that grain's write failed")]
    private partial void LogRefused(string stateName, string sqlState, string error);
}
