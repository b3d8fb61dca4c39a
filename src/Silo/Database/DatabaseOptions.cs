using Npgsql;
using Polly;
using Polly.Retry;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Durable operation: set <c>ConnectionStrings:GridDispatch</c> and the silo keeps grain state, reminders and cluster
/// membership in PostgreSQL. Timeouts and retry budgets are here (section "GridDispatch:Database").
/// </summary>
public sealed class DatabaseOptions
{
    public const string Section = "GridDispatch:Database";

    public string ConnectionString { get; set; } = "";

    /// <summary>Start-up attempts against the database (migrations) before the silo gives up.</summary>
    public int StartupAttempts { get; set; } = 10;

    public TimeSpan StartupDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Polly pipelines at the database boundary.</summary>
public static class Resilience
{
    /// <summary>Bounded retries with exponential back-off and jitter on transient Npgsql errors (server not up yet, connection refused).</summary>
    public static ResiliencePipeline Startup(DatabaseOptions options) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(e => e.IsTransient).Handle<System.Net.Sockets.SocketException>(),
            MaxRetryAttempts = Math.Max(0, options.StartupAttempts - 1),
            Delay = options.StartupDelay,
            BackoffType = DelayBackoffType.Exponential,
            MaxDelay = TimeSpan.FromSeconds(10),
            UseJitter = true,
        })
        .Build();
}
