using GridDispatch.Domain;

namespace GridDispatch.Silo.Database;

/// <summary>Group commit of the incident store (section "GridDispatch:IncidentStore").</summary>
public sealed class IncidentStoreOptions
{
    public const string Section = "GridDispatch:IncidentStore";

    /// <summary>
    /// How long the writer waits after the first pending append for others to join its transaction, when a writer is
    /// free (while every writer is busy the batch grows anyway, so batches are large exactly when the database is).
    /// Every command waits up to this long on top of its commit. 0, the default, writes at once what is queued: in
    /// the durable bench that doubled the store's appends per second against 2 ms, with under 0.45 commits per command.
    /// Up to 1 s is accepted, for tests that need several appends in one batch.
    /// </summary>
    public TimeSpan Linger { get; set; } = TimeSpan.Zero;

    /// <summary>A batch is written as soon as it holds this many rows (an append larger than this goes alone).</summary>
    public int MaxBatchRows { get; set; } = 500;

    /// <summary>
    /// Batches committing at the same time (1: one after another). While one waits for its commit to be flushed the
    /// next is sent, so PostgreSQL flushes them together.
    /// </summary>
    public int WritersInFlight { get; set; } = 2;

    /// <summary>Appends waiting for the writer; when full, AppendAsync waits for room (never drops).</summary>
    public int Capacity { get; set; } = 10_000;

    /// <summary>Time limit of one attempt at a transaction or a read.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries of a transaction or read after a transient error (0: none), with jittered exponential backoff.</summary>
    public int RetryAttempts { get; set; } = 3;

    /// <summary>The first retry's delay; each next one doubles it (with jitter), at most 2 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public static SettingRules<IncidentStoreOptions> Rules => new SettingRules<IncidentStoreOptions>(Section)
        .Between(nameof(Linger), o => o.Linger, TimeSpan.Zero, TimeSpan.FromSeconds(1))
        .AtLeast(nameof(MaxBatchRows), o => o.MaxBatchRows, 1)
        .Between(nameof(WritersInFlight), o => o.WritersInFlight, 1, 16)
        .AtLeast(nameof(Capacity), o => o.Capacity, 1)
        .AtLeast(nameof(AttemptTimeout), o => o.AttemptTimeout, TimeSpan.FromMilliseconds(1))
        .Between(nameof(RetryAttempts), o => o.RetryAttempts, 0, 100)
        .AtLeast(nameof(RetryDelay), o => o.RetryDelay, TimeSpan.FromMilliseconds(1));

    /// <summary>Refuses settings the writer cannot work with, naming each.</summary>
    public void Validate() => Rules.Check(this);
}
