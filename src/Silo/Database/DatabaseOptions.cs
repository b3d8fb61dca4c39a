using GridDispatch.Domain;
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

    /// <summary>
    /// Grain-state reads and writes in progress at once per silo (each holds a pooled connection); the rest queue.
    /// Npgsql's pool holds 100 by default; the incident store's writers, its reads, reminders and membership use the rest.
    /// </summary>
    public int StateOperationsInFlight { get; set; } = 32;

    /// <summary>
    /// Grain-state writes are committed in batches of up to this many (one statement, one transaction: one WAL flush
    /// for the batch instead of one per grain); a batch is written as soon as a writer is free, so an idle silo writes
    /// a lone grain at once.
    /// </summary>
    public int StateWriteBatch { get; set; } = 500;

    /// <summary>Grain-state batches committing at once (each holds a pooled connection).</summary>
    public int StateWritersInFlight { get; set; } = 2;

    /// <summary>Grain-state writes waiting for a batch; when full, a grain's write waits for room (never dropped).</summary>
    public int StateWriteQueue { get; set; } = 20_000;

    public static SettingRules<DatabaseOptions> Rules => new SettingRules<DatabaseOptions>(Section)
        .AtLeast(nameof(StartupAttempts), o => o.StartupAttempts, 1)
        .AtLeast(nameof(StartupDelay), o => o.StartupDelay, TimeSpan.Zero)
        .Between(nameof(StateOperationsInFlight), o => o.StateOperationsInFlight, 1, 1000)
        .AtLeast(nameof(StateWriteBatch), o => o.StateWriteBatch, 1)
        .Between(nameof(StateWritersInFlight), o => o.StateWritersInFlight, 1, 16)
        .AtLeast(nameof(StateWriteQueue), o => o.StateWriteQueue, 1);

    /// <summary>Refuses settings the grain-state writer cannot work with, naming each.</summary>
    public void Validate() => Rules.Check(this);
}

/// <summary>Connection settings the engine's statements are written for, unless the connection string sets them.</summary>
public static class ConnectionTuning
{
    /// <summary>
    /// No reset on close: the engine sets no session state, so a pooled connection need not be discarded (DISCARD ALL)
    /// on every return — which also keeps the statements prepared on it. The timeline's reads prepare their statements
    /// explicitly (parsing and planning the same few statements again was a quarter of PostgreSQL's CPU in the durable
    /// bench). Nothing auto-prepares: with Npgsql 10.0.3 an auto-prepared statement that fails inside a transaction (a
    /// row PostgreSQL refuses) leaves the connection out of step ("Received unexpected backend message DataRow",
    /// npgsql/npgsql#6391). <paramref name="autoPrepare"/> is for statements that never fail so (the bench's rivals).
    /// </summary>
    public static string Apply(string connectionString, bool autoPrepare = false)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (autoPrepare && !Given(connectionString, "Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = 32;
            builder.AutoPrepareMinUsages = 2;
        }

        if (!Given(connectionString, "No Reset On Close"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

    /// <summary>Whether the operator set the key (in either spelling Npgsql accepts: with or without spaces).</summary>
    private static bool Given(string connectionString, string key) =>
        connectionString.Contains(key, StringComparison.OrdinalIgnoreCase)
        || connectionString.Contains(key.Replace(" ", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
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
