using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using GridDispatch.Domain;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace GridDispatch.Silo.Database;

/// <summary>Event log tuning (section "GridDispatch:EventLog").</summary>
public sealed class EventLogOptions
{
    public const string Section = "GridDispatch:EventLog";

    /// <summary>Entries held in memory while the database is away; past this, incidents are remembered and re-sent later.</summary>
    public int BufferCapacity { get; set; } = 100_000;

    public int BatchSize { get; set; } = 500;

    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public int RetryAttempts { get; set; } = 3;

    public static SettingRules<EventLogOptions> Rules => new SettingRules<EventLogOptions>(Section)
        .AtLeast(nameof(BufferCapacity), o => o.BufferCapacity, 1)
        .AtLeast(nameof(BatchSize), o => o.BatchSize, 1)
        .AtLeast(nameof(AttemptTimeout), o => o.AttemptTimeout, TimeSpan.FromMilliseconds(1))
        .Between(nameof(RetryAttempts), o => o.RetryAttempts, 0, 100);
}

/// <summary>Whether the durable parts of this silo are keeping up; /health/ready reports it.</summary>
public interface IEventLogHealth
{
    /// <summary>True when the database answers a trivial query within two seconds (checked at most once a second).</summary>
    Task<bool> DatabaseAnswersAsync();

    bool IsReady { get; }

    int Backlog { get; }

    string Status { get; }
}

/// <summary>
/// Writes incidents' timeline entries to incident_events in batches (one multi-row INSERT … ON CONFLICT DO NOTHING per
/// batch, so a retried batch or a re-sent timeline stores each entry once). Appends never block a grain: entries wait
/// in a bounded buffer; when it is full, the incident's id is remembered and its whole timeline is re-sent once the
/// database is back. Writes go through a Polly pipeline: per-attempt timeout, bounded retries with jitter on transient
/// errors, and a circuit breaker; while the database is away the batch is kept and retried, and readiness reports false.
/// A row PostgreSQL refuses for good (<see cref="PostgresErrors.IsPermanent(Exception)"/>: a \u0000 in the payload, a
/// value over a column limit) is not retried: the batch is written again row by row, the good rows land and each bad
/// one is moved to incident_event_dead_letters with its error, counted in <c>griddispatch.eventlog.dead_letters</c>.
/// </summary>
public sealed partial class PostgresIncidentEventLog : BackgroundService, IIncidentEventSink, IEventLogHealth
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Channel<Row> _buffer;
    private readonly HashSet<string> _overflowed = new(StringComparer.Ordinal);
    private readonly DatabaseOptions _database;
    private readonly EventLogOptions _options;
    private readonly IGrainFactory _grains;
    private readonly ILogger<PostgresIncidentEventLog> _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _dropped;
    private volatile bool _failing;
    private int _backlog;

    public PostgresIncidentEventLog(
        DatabaseOptions database, EventLogOptions options, IGrainFactory grains, IMeterFactory meters, ILogger<PostgresIncidentEventLog> logger)
    {
        _database = database;
        _options = options;
        _grains = grains;
        _logger = logger;
        var meter = GridDispatchMeter.Create(meters);
        _deadLetters = meter.CreateCounter<long>("griddispatch.eventlog.dead_letters", "{row}",
            "Timeline entries PostgreSQL refused for good, moved to incident_event_dead_letters");
        _dropped = meter.CreateCounter<long>("griddispatch.eventlog.dropped", "{row}",
            "Timeline entries refused for good that not even the dead-letter table would take");
        meter.CreateObservableGauge("griddispatch.eventlog.backlog", () => Backlog, "{row}", "Timeline entries waiting to be written to the event log");
        _buffer = Channel.CreateBounded<Row>(new BoundedChannelOptions(options.BufferCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(e => e.IsTransient).Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = options.RetryAttempts,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                // A row refused for good says nothing about the database's health: it must not open the circuit.
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(e => !PostgresErrors.IsPermanent(e)).Handle<TimeoutRejectedException>(),
                FailureRatio = 0.5,
                MinimumThroughput = 3,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(2),
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    private (DateTimeOffset At, bool Ok) _lastPing;

    public int Backlog => Volatile.Read(ref _backlog);

    public async Task<bool> DatabaseAnswersAsync()
    {
        if (DateTimeOffset.UtcNow - _lastPing.At < TimeSpan.FromSeconds(1))
        {
            return _lastPing.Ok;
        }

        bool ok;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await using var connection = new NpgsqlConnection(_database.ConnectionString);
            await connection.OpenAsync(timeout.Token);
            await using var ping = new NpgsqlCommand("SELECT 1", connection);
            await ping.ExecuteScalarAsync(timeout.Token);
            ok = true;
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or System.Net.Sockets.SocketException or TimeoutException)
        {
            ok = false;
        }

        _lastPing = (DateTimeOffset.UtcNow, ok);
        return ok;
    }

    public bool IsReady => !_failing && Backlog < _options.BufferCapacity * 9 / 10 && OverflowedCount == 0;

    public string Status => _failing ? "event log: database unreachable, buffering" : OverflowedCount > 0 ? "event log: catching up" : "ok";

    private int OverflowedCount
    {
        get
        {
            lock (_overflowed)
            {
                return _overflowed.Count;
            }
        }
    }

    public void Append(string incidentId, IReadOnlyList<TimelineEntry> entries)
    {
        foreach (var entry in entries)
        {
            if (_buffer.Writer.TryWrite(new Row(incidentId, entry)))
            {
                Interlocked.Increment(ref _backlog);
                continue;
            }

            lock (_overflowed)
            {
                _overflowed.Add(incidentId);
            }

            return;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Row>(_options.BatchSize);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (batch.Count == 0)
                {
                    await _buffer.Reader.WaitToReadAsync(stoppingToken);
                    while (batch.Count < _options.BatchSize && _buffer.Reader.TryRead(out var row))
                    {
                        batch.Add(row);
                    }
                }

                await WriteOrSetAsideAsync(batch, stoppingToken);
                Interlocked.Add(ref _backlog, -batch.Count);
                batch.Clear();
                if (_failing)
                {
                    _failing = false;
                    LogRecovered(Backlog);
                }

                await ResendOverflowedAsync();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Keep the batch and try it again: entries are only let go once the database has them (or, for an
                // entry it refuses for good, once the dead-letter table has it).
                if (!_failing)
                {
                    _failing = true;
                    LogFailing(ex, batch.Count, Backlog);
                }

                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task ResendOverflowedAsync()
    {
        string[] ids;
        lock (_overflowed)
        {
            if (_overflowed.Count == 0 || Backlog > _options.BufferCapacity / 2)
            {
                return;
            }

            ids = [.. _overflowed.Take(_options.BatchSize)];
            foreach (var id in ids)
            {
                _overflowed.Remove(id);
            }
        }

        foreach (var id in ids)
        {
            await _grains.GetGrain<IIncidentGrain>(id).RepublishLogAsync();
        }
    }

    /// <summary>
    /// Writes the batch; if PostgreSQL refuses it for good, writes it again one row at a time (at most one batch of
    /// round trips) and sets each refused row aside. Transient failures propagate, and the caller keeps the batch: both
    /// tables store an entry once, so going over the same rows again is harmless.
    /// </summary>
    private async Task WriteOrSetAsideAsync(List<Row> batch, CancellationToken cancellationToken)
    {
        try
        {
            await _pipeline.ExecuteAsync(async ct => await WriteAsync(batch, ct), cancellationToken);
            return;
        }
        catch (Exception ex) when (PostgresErrors.IsPermanent(ex) && batch.Count == 1)
        {
            await SetAsideAsync(batch[0], ex, cancellationToken);
            return;
        }
        catch (Exception ex) when (PostgresErrors.IsPermanent(ex))
        {
            // Some row of the batch can never be stored; find which by writing them one by one.
        }

        foreach (var row in batch)
        {
            try
            {
                await _pipeline.ExecuteAsync(async ct => await WriteAsync([row], ct), cancellationToken);
            }
            catch (Exception ex) when (PostgresErrors.IsPermanent(ex))
            {
                await SetAsideAsync(row, ex, cancellationToken);
            }
        }
    }

    private async Task SetAsideAsync(Row row, Exception error, CancellationToken cancellationToken)
    {
        var sqlState = PostgresErrors.SqlState(error);
        try
        {
            if (await _pipeline.ExecuteAsync(async ct => await DeadLetterAsync(row, error, ct), cancellationToken))
            {
                _deadLetters.Add(1);
                LogDeadLettered(row.IncidentId, row.Entry.Seq, sqlState ?? "none");
            }
        }
        catch (Exception ex) when (PostgresErrors.IsPermanent(ex))
        {
            // Holding the row would block the log for good; losing it is the lesser harm (the grain still has it).
            _dropped.Add(1);
            LogDropped(ex, row.IncidentId, row.Entry.Seq, sqlState ?? "none");
        }
    }

    /// <summary>
    /// Stores the refused row as text. Returns false when there was nothing to do: the entry is set aside already (a
    /// re-sent timeline), or an operator has since stored a fixed version of it in incident_events.
    /// </summary>
    private async Task<bool> DeadLetterAsync(Row row, Exception error, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            INSERT INTO incident_event_dead_letters (incident_id, seq, kind, actor, at, from_state, to_state, payload, sql_state, error)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
            WHERE NOT EXISTS (SELECT 1 FROM incident_events WHERE incident_id = $1 AND seq = $2)
            ON CONFLICT (incident_id, seq) DO NOTHING
            """, connection);
        var e = row.Entry;
        var message = error is PostgresException postgres ? postgres.MessageText : error.Message;
        command.Parameters.Add(new NpgsqlParameter { Value = PostgresText.Clean(row.IncidentId, 1_000), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = e.Seq, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = e.Kind.ToString(), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = PostgresText.Clean(e.Actor, 1_000), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = e.At.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = e.From.ToString(), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = e.To.ToString(), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = PostgresText.Clean(Payload(e), MaxDeadLetterPayload), NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)PostgresErrors.SqlState(error) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Varchar });
        command.Parameters.Add(new NpgsqlParameter { Value = PostgresText.Clean(message, 4_000), NpgsqlDbType = NpgsqlDbType.Text });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private async Task WriteAsync(List<Row> batch, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            INSERT INTO incident_events (incident_id, seq, kind, actor, at, from_state, to_state, payload)
            SELECT * FROM unnest($1::varchar[], $2::integer[], $3::varchar[], $4::varchar[], $5::timestamptz[], $6::varchar[], $7::varchar[], $8::jsonb[])
            ON CONFLICT (incident_id, seq) DO NOTHING
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.IncidentId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Entry.Seq).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Entry.Kind.ToString()).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Entry.Actor).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Entry.At.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Entry.From.ToString()).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => r.Entry.To.ToString()).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(r => Payload(r.Entry)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Everything about the entry beyond the indexed columns.</summary>
    private static string Payload(TimelineEntry e) => JsonSerializer.Serialize(new
    {
        e.Reason, e.Level, e.UnitCode, e.Assignee, e.Stars, e.Until, e.Deadline, e.Report,
    }, Json);

    /// <summary>Longest payload text a dead letter keeps (UTF-16 units); longer ones are clipped.</summary>
    private const int MaxDeadLetterPayload = 100_000;

    private sealed record Row(string IncidentId, TimelineEntry Entry);

    [LoggerMessage(EventId = 8101, Level = LogLevel.Warning, Message = "Incident event log cannot reach the database; keeping a batch of {Batch} with {Backlog} entries buffered")]
    private partial void LogFailing(Exception ex, int batch, int backlog);

    [LoggerMessage(EventId = 8102, Level = LogLevel.Information, Message = "Incident event log reaches the database again; {Backlog} entries left to write")]
    private partial void LogRecovered(int backlog);

    // The payload is never logged: it can hold a reporter's name and phone number.
    [LoggerMessage(EventId = 8103, Level = LogLevel.Warning,
        Message = "PostgreSQL refused timeline entry {Seq} of incident {IncidentId} for good (SQL state {SqlState}); moved it to incident_event_dead_letters")]
    private partial void LogDeadLettered(string incidentId, int seq, string sqlState);

    [LoggerMessage(EventId = 8104, Level = LogLevel.Error,
        Message = "Timeline entry {Seq} of incident {IncidentId} was refused for good (SQL state {SqlState}) and not even incident_event_dead_letters would take it; dropped from the log")]
    private partial void LogDropped(Exception ex, string incidentId, int seq, string sqlState);
}
