using GridDispatch.Domain;
using Npgsql;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Looks once whether gd_grain_state holds any incident row (written before the timeline became the store), then
/// remembers the answer for the silo's life. A failed look is not remembered: the activation that asked fails (the
/// store is away) and the next one asks again.
/// </summary>
internal sealed class PostgresLegacyIncidentRows(DatabaseOptions database) : ILegacyIncidentRows
{
    private readonly SemaphoreSlim _asking = new(1, 1);
    private bool? _known;

    public async Task<bool> MayExistAsync()
    {
        if (_known is { } known)
        {
            return known;
        }

        await _asking.WaitAsync();
        try
        {
            if (_known is null)
            {
                await using var connection = new NpgsqlConnection(database.ConnectionString);
                await connection.OpenAsync();
                await using var look = new NpgsqlCommand(
                    "SELECT EXISTS (SELECT 1 FROM gd_grain_state WHERE grain_type = 'incident' AND payload IS NOT NULL)", connection);
                _known = (bool)(await look.ExecuteScalarAsync())!;
            }

            return _known.Value;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new StoreUnavailableException("The incident store cannot be read now", StoreResilience.Portable(ex));
        }
        finally
        {
            _asking.Release();
        }
    }
}
