using System.Text;
using Npgsql;
using NpgsqlTypes;
using Orleans.Storage;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Where a grain's state lives in gd_grain_state (migration 002): the columns the ADO.NET provider keys a row by. Reads
/// and clears still go through that provider, so a row written here must be the very row it reads: the same hash
/// (<see cref="OrleansDefaultHasher"/>, the provider's default) over the same bytes — the key's bytes followed by the
/// extension's UTF-8, reversed on a little-endian machine; the state name's UTF-8 unreversed — and the same split of
/// the key into n0, n1 and the extension. GridStateRowsTests write here and read through the provider for each key kind.
/// </summary>
public readonly record struct GrainStateRowKey(int IdHash, long N0, long N1, int TypeHash, string Type, string? Extension)
{
    private static readonly OrleansDefaultHasher Hasher = new();

    public static GrainStateRowKey Of(string stateName, GrainId grainId)
    {
        // The provider strips generic arguments from the name; no GridDispatch state name has any.
        if (stateName.Contains('`', StringComparison.Ordinal))
        {
            throw new ArgumentException($"State name '{stateName}' is generic; the grain-state writer keys only plain names", nameof(stateName));
        }

        long n0 = 0, n1 = 0;
        string? extension;
        byte[] keyBytes;
        if (grainId.TryGetGuidKey(out var guid, out extension))
        {
            keyBytes = guid.ToByteArray();
            (n0, n1) = (BitConverter.ToInt64(keyBytes, 0), BitConverter.ToInt64(keyBytes, 8));
        }
        else if (grainId.TryGetIntegerKey(out var integer, out extension))
        {
            keyBytes = BitConverter.GetBytes(integer);
            n1 = integer;
        }
        else
        {
            // A string key: the whole key is the "extension" column, and only its bytes are hashed.
            extension = grainId.Key.ToString();
            keyBytes = [];
        }

        var hashed = extension is null ? keyBytes : [.. keyBytes, .. Encoding.UTF8.GetBytes(extension)];
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(hashed);
        }

        return new GrainStateRowKey(Hasher.Hash(hashed), n0, n1, Hasher.Hash(Encoding.UTF8.GetBytes(stateName)), stateName, extension);
    }
}

/// <summary>A grain's row: its payload (null once cleared) and version.</summary>
public sealed record StoredGrainState(byte[]? Payload, int Version);

/// <summary>A grain-state read waiting for its batch.</summary>
public sealed class PendingStateRead(GrainStateRowKey key)
{
    public GrainStateRowKey Key { get; } = key;

    public TaskCompletionSource<StoredGrainState?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A grain-state write waiting for its batch: the row, the version it expects (null: no row yet) and the payload.</summary>
public sealed class PendingStateWrite(GrainStateRowKey key, int? expected, byte[] payload)
{
    public GrainStateRowKey Key { get; } = key;

    public int? Expected { get; } = expected;

    public byte[] Payload { get; } = payload;

    /// <summary>The span of the call that queued the write, for the commit's span (<see cref="Telemetry.CommitSpans"/>).</summary>
    public System.Diagnostics.ActivityContext Caller { get; } = Telemetry.CommitSpans.Caller();

    /// <summary>The version written; or the reason nothing was (a conflict, the database away, a refused row).</summary>
    public TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// One attempt at a batch of grain-state writes: one statement, one transaction, whatever the batch's size. Each write
/// updates its row if the row is still at the version the grain read, or inserts it if the grain read none; a write
/// that finds neither (another activation wrote first) changes nothing and comes back as a conflict, without failing
/// the others. A batch holds one write per row.
/// </summary>
internal sealed class GrainStateTable(string connectionString, string serviceId)
{
    private const string WriteSql = """
        WITH input AS (
            SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::integer[], $5::varchar[], $6::varchar[], $7::integer[], $8::bytea[])
                WITH ORDINALITY AS i (id_hash, n0, n1, type_hash, grain_type, key_ext, expected, payload, ord)
        ),
        updated AS (
            UPDATE gd_grain_state s
               SET payload = i.payload, version = s.version + 1, modified_at = now()
              FROM input i
             WHERE i.expected IS NOT NULL
               AND s.service_id = $9 AND s.grain_type_hash = i.type_hash AND s.grain_id_hash = i.id_hash
               AND s.grain_id_n0 = i.n0 AND s.grain_id_n1 = i.n1 AND s.grain_type = i.grain_type
               AND COALESCE(s.grain_key_ext, '') = COALESCE(i.key_ext, '')
               AND s.version = i.expected
            RETURNING i.ord, s.version
        ),
        inserted AS (
            INSERT INTO gd_grain_state (service_id, grain_type_hash, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_key_ext, payload, version)
            SELECT $9, i.type_hash, i.grain_type, i.id_hash, i.n0, i.n1, i.key_ext, i.payload, 1 FROM input i WHERE i.expected IS NULL
            ON CONFLICT DO NOTHING
            RETURNING grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, grain_type, grain_key_ext
        )
        SELECT ord, version FROM updated
        UNION ALL
        SELECT i.ord, 1 FROM inserted x JOIN input i
            ON i.expected IS NULL AND i.type_hash = x.grain_type_hash AND i.id_hash = x.grain_id_hash AND i.n0 = x.grain_id_n0
           AND i.n1 = x.grain_id_n1 AND i.grain_type = x.grain_type AND COALESCE(i.key_ext, '') = COALESCE(x.grain_key_ext, '')
        """;

    private const string ReadSql = """
        SELECT i.ord, s.payload, s.version
          FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::integer[], $5::varchar[], $6::varchar[])
               WITH ORDINALITY AS i (id_hash, n0, n1, type_hash, grain_type, key_ext, ord)
          JOIN gd_grain_state s
            ON s.service_id = $7 AND s.grain_type_hash = i.type_hash AND s.grain_id_hash = i.id_hash
           AND s.grain_id_n0 = i.n0 AND s.grain_id_n1 = i.n1 AND s.grain_type = i.grain_type
           AND COALESCE(s.grain_key_ext, '') = COALESCE(i.key_ext, '')
        """;

    /// <summary>
    /// Reads the rows of <paramref name="keys"/> in one prepared statement (planned once per connection, not per grain:
    /// planning the provider's read for every activation was a quarter of PostgreSQL's CPU in the storm bench).
    /// Null where a grain has no row.
    /// </summary>
    public async ValueTask<StoredGrainState?[]> ReadAsync(IReadOnlyList<GrainStateRowKey> keys, CancellationToken cancellationToken)
    {
        var count = keys.Count;
        var (idHashes, n0s, n1s, typeHashes, types, extensions) =
            (new int[count], new long[count], new long[count], new int[count], new string[count], new string?[count]);
        for (var i = 0; i < count; i++)
        {
            var key = keys[i];
            (idHashes[i], n0s[i], n1s[i], typeHashes[i], types[i], extensions[i]) = (key.IdHash, key.N0, key.N1, key.TypeHash, key.Type, key.Extension);
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(ReadSql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = idHashes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = n0s, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = n1s, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = typeHashes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = types, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar });
        command.Parameters.Add(new NpgsqlParameter { Value = extensions, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar });
        command.Parameters.Add(new NpgsqlParameter { Value = serviceId, NpgsqlDbType = NpgsqlDbType.Varchar });
        await command.PrepareAsync(cancellationToken);
        var stored = new StoredGrainState?[count];
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored[reader.GetInt64(0) - 1] = new StoredGrainState(reader.IsDBNull(1) ? null : (byte[])reader.GetValue(1), reader.GetInt32(2));
        }

        return stored;
    }

    /// <summary>Writes the batch and commits; returns the new version of each write in order, null where it conflicted.</summary>
    public async ValueTask<int?[]> WriteAsync(IReadOnlyList<PendingStateWrite> writes, CancellationToken cancellationToken)
    {
        var count = writes.Count;
        var (idHashes, n0s, n1s, typeHashes) = (new int[count], new long[count], new long[count], new int[count]);
        var (types, extensions, expected, payloads) = (new string[count], new string?[count], new int?[count], new byte[count][]);
        for (var i = 0; i < count; i++)
        {
            var (write, key) = (writes[i], writes[i].Key);
            (idHashes[i], n0s[i], n1s[i], typeHashes[i], types[i], extensions[i]) = (key.IdHash, key.N0, key.N1, key.TypeHash, key.Type, key.Extension);
            (expected[i], payloads[i]) = (write.Expected, write.Payload);
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var written = new int?[count];
        await using (var command = new NpgsqlCommand(WriteSql, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = idHashes });
            command.Parameters.Add(new NpgsqlParameter { Value = n0s });
            command.Parameters.Add(new NpgsqlParameter { Value = n1s });
            command.Parameters.Add(new NpgsqlParameter { Value = typeHashes });
            command.Parameters.Add(new NpgsqlParameter { Value = types });
            command.Parameters.Add(new NpgsqlParameter { Value = extensions, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar });
            command.Parameters.Add(new NpgsqlParameter { Value = expected, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
            command.Parameters.Add(new NpgsqlParameter { Value = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
            command.Parameters.Add(new NpgsqlParameter { Value = serviceId });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                written[reader.GetInt64(0) - 1] = reader.GetInt32(1);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return written;
    }
}
