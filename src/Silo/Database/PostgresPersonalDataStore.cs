using GridDispatch.Domain;
using Npgsql;
using Polly;
using Polly.Retry;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Reporters' personal data in incident_personal_data (migration 008), one row per incident. Writes and reads go
/// through a bounded retry on transient errors; erasure blanks the row and records who erased it and when.
/// </summary>
public sealed class PostgresPersonalDataStore(DatabaseOptions database) : IPersonalDataStore
{
    private readonly ResiliencePipeline _retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(e => e.IsTransient),
            MaxRetryAttempts = 3,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .AddTimeout(TimeSpan.FromSeconds(5))
        .Build();

    public Task SaveAsync(string incidentId, string? reporterId, ReporterContact contact) => _retry.ExecuteAsync(async ct =>
    {
        await using var db = await OpenAsync(ct);
        await using var command = new NpgsqlCommand("""
            INSERT INTO incident_personal_data (incident_id, reporter_id, name, phone, address) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (incident_id) DO UPDATE SET reporter_id = excluded.reporter_id, name = excluded.name, phone = excluded.phone,
                address = excluded.address, saved_at = now()
            WHERE incident_personal_data.erased_at IS NULL
            """, db);
        command.Parameters.AddWithValue(incidentId);
        command.Parameters.Add(Text(Clean(reporterId)));
        command.Parameters.Add(Text(Clean(contact.Name)));
        command.Parameters.Add(Text(Clean(contact.Phone)));
        command.Parameters.Add(Text(Clean(contact.Address)));
        await command.ExecuteNonQueryAsync(ct);
    }).AsTask();

    public Task<ReporterContact?> GetAsync(string incidentId) => _retry.ExecuteAsync(async ct =>
    {
        await using var db = await OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT name, phone, address FROM incident_personal_data WHERE incident_id = $1 AND erased_at IS NULL", db);
        command.Parameters.AddWithValue(incidentId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new ReporterContact(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2))
            : null;
    }).AsTask();

    public Task<bool> EraseAsync(string incidentId, string erasedBy) => _retry.ExecuteAsync(async ct =>
    {
        await using var db = await OpenAsync(ct);
        await using var command = new NpgsqlCommand("""
            UPDATE incident_personal_data SET name = NULL, phone = NULL, address = NULL, erased_at = now(), erased_by = $2
            WHERE incident_id = $1 AND erased_at IS NULL
            """, db);
        command.Parameters.AddWithValue(incidentId);
        command.Parameters.AddWithValue(PostgresText.Clean(erasedBy, 128));
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }).AsTask();

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var db = new NpgsqlConnection(database.ConnectionString);
        await db.OpenAsync(cancellationToken);
        return db;
    }

    private static string? Clean(string? value) => value is null ? null : PostgresText.Clean(value, 200);

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text };
}
