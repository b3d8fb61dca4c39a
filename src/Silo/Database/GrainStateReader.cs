using GridDispatch.Domain;
using Microsoft.Extensions.Logging;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Grain-state reads of the durable silo in batches: a switch or a load that wakes 200,000 grains asked the ADO.NET
/// provider for 200,000 reads, each a round trip and a statement PostgreSQL parsed and planned anew. Here reads wait
/// in a bounded queue and up to <see cref="DatabaseOptions.StateWriteBatch"/> go in one prepared statement, up to
/// <see cref="DatabaseOptions.StateOperationsInFlight"/> statements at once (at least 1 and at most 8 of them: each
/// holds a pooled connection). A lone read on an idle silo goes at once. Transient failures are retried; a read that
/// still fails fails with <see cref="StoreUnavailableException"/>, and the grain's activation with it.
/// </summary>
public sealed partial class GrainStateReader : StorageQueue<PendingStateRead>
{
    private readonly GrainStateTable _table;
    private readonly int _batch;
    private readonly int _inFlight;
    private readonly StoreResilience _resilience;
    private readonly ILogger<GrainStateReader> _logger;
    private long _statements;

    public GrainStateReader(DatabaseOptions database, string serviceId, ILogger<GrainStateReader> logger)
        : base(database.StateWriteQueue, "grain-state reader")
    {
        database.Validate();
        _table = new GrainStateTable(database.ConnectionString, serviceId);
        _batch = database.StateWriteBatch;
        _inFlight = Math.Clamp(database.StateOperationsInFlight, 1, 8);
        _resilience = new StoreResilience(retryAttempts: 3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), breaker: false);
        _logger = logger;
    }

    /// <summary>Statements run since start (each read any number of rows).</summary>
    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>The grain's row, or null when it has none.</summary>
    /// <exception cref="StoreUnavailableException">The database cannot be read now.</exception>
    public async Task<StoredGrainState?> ReadAsync(GrainStateRowKey key)
    {
        var read = new PendingStateRead(key);
        await EnqueueAsync(read);
        return await read.Done.Task;
    }

    protected override async Task RunAsync()
    {
        var reading = new List<Task>();
        try
        {
            while (await Queue.Reader.WaitToReadAsync(Abort.Token))
            {
                reading.RemoveAll(t => t.IsCompleted);
                while (reading.Count >= _inFlight)
                {
                    reading.Remove(await Task.WhenAny(reading));
                }

                // Taken once a statement is free, so the reads queued while all were busy go together.
                var batch = new List<PendingStateRead>();
                while (batch.Count < _batch && Queue.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                }

                reading.Add(ReadInBackgroundAsync(batch));
            }
        }
        catch (OperationCanceledException) when (Abort.IsCancellationRequested)
        {
        }
        finally
        {
            await Task.WhenAll(reading);
        }
    }

    private async Task ReadInBackgroundAsync(List<PendingStateRead> batch)
    {
        await Task.Yield();
        StoredGrainState?[] rows;
        try
        {
            rows = await _resilience.Pipeline.ExecuteAsync(
                static (s, ct) => s.Table.ReadAsync(s.Keys, ct), (Table: _table, Keys: batch.Select(r => r.Key).ToList()), Abort.Token);
        }
        catch (Exception ex)
        {
            LogFailed(ex, batch.Count);
            foreach (var read in batch)
            {
                read.Done.TrySetException(new StoreUnavailableException("Grain state cannot be read now", StoreResilience.Portable(ex)));
            }

            return;
        }

        Interlocked.Increment(ref _statements);
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Done.TrySetResult(rows[i]);
        }
    }

    protected override void Fail(PendingStateRead item, StoreUnavailableException reason) => item.Done.TrySetException(reason);

    [LoggerMessage(EventId = 8214, Level = LogLevel.Warning, Message = "Grain state cannot be read (a batch of {Reads} reads failed); those activations fail")]
    private partial void LogFailed(Exception ex, int reads);
}
