using System.Diagnostics.Metrics;
using Npgsql;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace GridDispatch.Silo.Database;

/// <summary>
/// The incident store's Polly pipeline at the database boundary: bounded retries with jittered exponential backoff on
/// transient errors, a circuit breaker (so an outage refuses appends at once instead of after every retry), and a
/// time limit per attempt. Refusals for good (<see cref="PostgresErrors.IsPermanent(Exception)"/>) are neither retried
/// nor counted against the database.
/// </summary>
internal sealed class StoreResilience
{
    /// <param name="breaker">
    /// False for reads (timelines, the deadline sweep), which must not keep the writer's circuit open while the
    /// database comes back.
    /// </param>
    public StoreResilience(IncidentStoreOptions options, bool breaker = true)
        : this(options.RetryAttempts, options.RetryDelay, options.AttemptTimeout, breaker)
    {
    }

    public StoreResilience(int retryAttempts, TimeSpan retryDelay, TimeSpan attemptTimeout, bool breaker)
    {
        var builder = new ResiliencePipelineBuilder();
        if (retryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<NpgsqlException>(e => e.IsTransient && !PostgresErrors.IsPermanent(e))
                    .Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = retryAttempts,
                Delay = retryDelay,
                MaxDelay = TimeSpan.FromSeconds(2),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }

        if (breaker)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<NpgsqlException>(e => !PostgresErrors.IsPermanent(e))
                    .Handle<TimeoutRejectedException>(),
                FailureRatio = 0.5,
                MinimumThroughput = 3,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(2),
            });
        }

        Pipeline = builder.AddTimeout(attemptTimeout).Build();
    }

    public ResiliencePipeline Pipeline { get; }

    /// <summary>
    /// A stand-in for <paramref name="cause"/> that crosses silos: Orleans serializes only exceptions of its own
    /// namespaces and of those marked for it (an NpgsqlException fails the whole response with CodecNotFoundException),
    /// so the cause travels as an InvalidOperationException with its type, SQL state and message.
    /// </summary>
    public static Exception Portable(Exception cause)
    {
        var state = PostgresErrors.SqlState(cause) is { } sqlState ? $" (SQL state {sqlState})" : "";
        var message = cause is PostgresException postgres ? postgres.MessageText : cause.Message;
        return new InvalidOperationException($"{cause.GetType().Name}{state}: {message}");
    }
}

/// <summary>The incident store's instruments on the "GridDispatch" meter.</summary>
internal sealed class StoreMetrics
{
    private static readonly double[] Seconds = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly int[] Sizes = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

    private readonly Counter<long> _commits;
    private readonly Counter<long> _rows;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _commitDuration;

    public StoreMetrics(IMeterFactory meters)
    {
        var meter = GridDispatchMeter.Create(meters);
        _commits = meter.CreateCounter<long>("griddispatch.incidentstore.commits", "{transaction}", "Transactions the incident store committed");
        _rows = meter.CreateCounter<long>("griddispatch.incidentstore.rows", "{row}", "Timeline entries the incident store committed");
        Conflicts = meter.CreateCounter<long>("griddispatch.incidentstore.conflicts", "{append}",
            "Appends refused because another writer had appended to the incident first");
        _batchSize = meter.CreateHistogram("griddispatch.incidentstore.batch_size", "{append}", "Appends per committed transaction",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = Sizes });
        _commitDuration = meter.CreateHistogram("griddispatch.incidentstore.commit.duration", "s",
            "Writing and committing one batch, retries included", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Seconds });
        AppendDuration = meter.CreateHistogram("griddispatch.incidentstore.append.duration", "s",
            "From AppendAsync to durable: waiting for room, for the batch and for its commit",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Seconds });
    }

    public Counter<long> Conflicts { get; }

    public Histogram<double> AppendDuration { get; }

    public void Committed(int appends, int rows, TimeSpan took)
    {
        _commits.Add(1);
        _rows.Add(rows);
        _batchSize.Record(appends);
        _commitDuration.Record(took.TotalSeconds);
    }
}
