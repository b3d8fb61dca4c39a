using Npgsql;
using Polly;
using Polly.Retry;

namespace GridDispatch.Silo.Database;

/// <summary>
/// How a store that is not the incident store (the household register, photos) calls PostgreSQL: each call on its own
/// pooled connection, transient failures retried three times (100 ms, doubling, with jitter), the whole call within a
/// time limit; what still fails is a <see cref="StoreUnavailableException"/> (503) and nothing of it was stored.
/// </summary>
public sealed class StoreCalls(string connectionString, TimeSpan timeout, string store)
{
    private readonly string _connectionString = ConnectionTuning.Apply(connectionString);

    private readonly ResiliencePipeline _retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(e => e.IsTransient && !PostgresErrors.IsPermanent(e)),
            MaxRetryAttempts = 3,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .AddTimeout(timeout)
        .Build();

    /// <summary>Runs <paramref name="work"/> (<paramref name="what"/> names it in the refusal) on an open connection.</summary>
    public async Task<T> RunAsync<T>(string what, Func<NpgsqlConnection, CancellationToken, Task<T>> work)
    {
        try
        {
            return await _retry.ExecuteAsync(async ct =>
            {
                await using var db = new NpgsqlConnection(_connectionString);
                await db.OpenAsync(ct);
                return await work(db, ct);
            });
        }
        catch (Exception ex) when (ex is NpgsqlException or Polly.Timeout.TimeoutRejectedException or System.Net.Sockets.SocketException)
        {
            throw new StoreUnavailableException($"The {store} cannot take {what} now; nothing of it was stored", StoreResilience.Portable(ex));
        }
    }
}
