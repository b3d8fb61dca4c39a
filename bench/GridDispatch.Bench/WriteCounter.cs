using Npgsql;

namespace GridDispatch.Bench;

/// <summary>Rows inserted, updated and deleted per table, from PostgreSQL's statistics.</summary>
public static class WriteCounter
{
    public static async Task<Dictionary<string, long>> ReadAsync(string connectionString)
    {
        await Task.Delay(1000);
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        await using var read = new NpgsqlCommand(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relname IN ('gd_grain_state', 'gd_reminder', 'incident_events', 'gd_membership')", db);
        await using var reader = await read.ExecuteReaderAsync();
        var result = new Dictionary<string, long>();
        while (await reader.ReadAsync())
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }

        return result;
    }
}
