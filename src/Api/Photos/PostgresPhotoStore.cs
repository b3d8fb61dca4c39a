using GridDispatch.Silo.Database;
using Npgsql;
using NpgsqlTypes;

namespace GridDispatch.Api.Photos;

/// <summary>
/// Photos in the <c>photos</c> table (migration 013). A save and a bind each run in one transaction under an advisory
/// lock on the uploader (save) or the subject (bind), so two concurrent requests cannot both pass a bound.
/// </summary>
public sealed class PostgresPhotoStore(DatabaseOptions database) : IPhotoStore
{
    private readonly StoreCalls _calls = new(database.ConnectionString, TimeSpan.FromSeconds(15), "photo store");

    private const string Columns = "id, uploader, subject, size, width, height, uploaded_at";

    public Task<PhotoRecord?> SaveAsync(PhotoRecord photo, byte[] image, byte[] thumbnail) => RunAsync(async (db, ct) =>
    {
        await using var tx = await db.BeginTransactionAsync(ct);
        await using (var lockUploader = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('photo-up:' || $1))", db, tx))
        {
            lockUploader.Parameters.AddWithValue(photo.Uploader);
            await lockUploader.ExecuteNonQueryAsync(ct);
        }

        if (await ReadOneAsync(db, tx, photo.Id, ct) is { } stored)
        {
            return stored;
        }

        await using (var count = new NpgsqlCommand("SELECT count(*) FROM photos WHERE uploader = $1 AND subject IS NULL", db, tx))
        {
            count.Parameters.AddWithValue(photo.Uploader);
            if ((long)(await count.ExecuteScalarAsync(ct))! >= PhotoLimits.MaxStaged)
            {
                return null;
            }
        }

        await using (var insert = new NpgsqlCommand(
            "INSERT INTO photos (id, uploader, subject, size, width, height, uploaded_at, image, thumbnail) VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8)",
            db, tx))
        {
            insert.Parameters.AddWithValue(photo.Id);
            insert.Parameters.AddWithValue(photo.Uploader);
            insert.Parameters.AddWithValue(photo.Size);
            insert.Parameters.AddWithValue(photo.Width);
            insert.Parameters.AddWithValue(photo.Height);
            insert.Parameters.AddWithValue(photo.UploadedAt);
            insert.Parameters.Add(new NpgsqlParameter { Value = image, NpgsqlDbType = NpgsqlDbType.Bytea });
            insert.Parameters.Add(new NpgsqlParameter { Value = thumbnail, NpgsqlDbType = NpgsqlDbType.Bytea });
            await insert.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        return photo;
    });

    public Task<PhotoRecord?> GetAsync(string id) => RunAsync((db, ct) => ReadOneAsync(db, null, id, ct));

    public Task<byte[]?> ReadAsync(string id, bool thumbnail) => RunAsync(async (db, ct) =>
    {
        await using var command = new NpgsqlCommand($"SELECT {(thumbnail ? "thumbnail" : "image")} FROM photos WHERE id = $1", db);
        command.Parameters.AddWithValue(id);
        return await command.ExecuteScalarAsync(ct) as byte[];
    });

    public Task<(BindRefusal Refusal, string? Photo, IReadOnlyList<string> Bound)> AttachAsync(IReadOnlyList<string> ids, string uploader, string subject) => RunAsync(async (db, ct) =>
    {
        await using var tx = await db.BeginTransactionAsync(ct);
        await using (var lockSubject = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('photo-of:' || $1))", db, tx))
        {
            lockSubject.Parameters.AddWithValue(subject);
            await lockSubject.ExecuteNonQueryAsync(ct);
        }

        var found = new Dictionary<string, PhotoRecord>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand($"SELECT {Columns} FROM photos WHERE id = ANY($1) FOR UPDATE", db, tx))
        {
            read.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await using var reader = await read.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var p = Row(reader);
                found[p.Id] = p;
            }
        }

        foreach (var id in ids)
        {
            var refusal = PhotoBinding.Check(found.GetValueOrDefault(id), uploader, subject);
            if (refusal != BindRefusal.None)
            {
                return (refusal, (string?)id, (IReadOnlyList<string>)[]);
            }
        }

        long already;
        await using (var count = new NpgsqlCommand("SELECT count(*) FROM photos WHERE subject = $1", db, tx))
        {
            count.Parameters.AddWithValue(subject);
            already = (long)(await count.ExecuteScalarAsync(ct))!;
        }

        if (already + found.Values.Count(p => p.Subject is null) > PhotoLimits.MaxPerSubject)
        {
            return (BindRefusal.SubjectFull, ids[0], (IReadOnlyList<string>)[]);
        }

        var bound = new List<string>();
        await using (var bind = new NpgsqlCommand("UPDATE photos SET subject = $2 WHERE id = ANY($1) AND subject IS NULL RETURNING id", db, tx))
        {
            bind.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            bind.Parameters.AddWithValue(subject);
            await using var reader = await bind.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                bound.Add(reader.GetString(0));
            }
        }

        await tx.CommitAsync(ct);
        return (BindRefusal.None, (string?)null, (IReadOnlyList<string>)bound);
    });

    public Task ReleaseAsync(IReadOnlyList<string> ids, string subject) => RunAsync(async (db, ct) =>
    {
        await using var command = new NpgsqlCommand("UPDATE photos SET subject = NULL WHERE id = ANY($1) AND subject = $2", db);
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.AddWithValue(subject);
        return await command.ExecuteNonQueryAsync(ct);
    });

    public Task DeleteAsync(IReadOnlyList<string> ids) => RunAsync(async (db, ct) =>
    {
        await using var command = new NpgsqlCommand("DELETE FROM photos WHERE id = ANY($1)", db);
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return await command.ExecuteNonQueryAsync(ct);
    });

    public Task<int> PurgeStagedAsync(DateTimeOffset before) => RunAsync(async (db, ct) =>
    {
        await using var command = new NpgsqlCommand("DELETE FROM photos WHERE subject IS NULL AND uploaded_at < $1", db);
        command.Parameters.AddWithValue(before);
        return await command.ExecuteNonQueryAsync(ct);
    });

    private static async Task<PhotoRecord?> ReadOneAsync(NpgsqlConnection db, NpgsqlTransaction? tx, string id, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM photos WHERE id = $1", db, tx);
        command.Parameters.AddWithValue(id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Row(reader) : null;
    }

    private static PhotoRecord Row(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5),
        r.GetFieldValue<DateTimeOffset>(6));

    private Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work) => _calls.RunAsync("a photo", work);
}
