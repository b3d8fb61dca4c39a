using Npgsql;

namespace GridDispatch.Silo.Database;

/// <summary>Whether the database answers a trivial query within two seconds, asked at most once a second.</summary>
internal sealed class DatabasePing(string connectionString)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    private volatile Answer? _last;

    public async Task<bool> AnswersAsync(bool fresh = false)
    {
        var last = _last;
        if (!fresh && last is not null && DateTimeOffset.UtcNow - last.At < CacheFor)
        {
            return last.Ok;
        }

        bool ok;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(timeout.Token);
            await using var ping = new NpgsqlCommand("SELECT 1", connection);
            await ping.ExecuteScalarAsync(timeout.Token);
            ok = true;
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or System.Net.Sockets.SocketException or TimeoutException)
        {
            ok = false;
        }

        _last = new Answer(DateTimeOffset.UtcNow, ok);
        return ok;
    }

    private sealed record Answer(DateTimeOffset At, bool Ok);
}
