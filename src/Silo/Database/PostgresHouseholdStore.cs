using System.Collections.Immutable;
using System.Text.Json;
using GridDispatch.Domain;
using GridDispatch.Register;
using Npgsql;
using NpgsqlTypes;

namespace GridDispatch.Silo.Database;

/// <summary>
/// The household register in PostgreSQL (migration 012). A write is one transaction of a few set-based statements
/// (unnest over the changes: the rows after their versions, their people, their log lines), so importing a grid's
/// households costs the same handful of round trips whether it holds ten or ten thousand. Transient failures are
/// retried a few times; what still fails is a <see cref="StoreUnavailableException"/> (503), and nothing of it is stored.
/// </summary>
public sealed class PostgresHouseholdStore(DatabaseOptions database) : IHouseholdStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private readonly StoreCalls _calls = new(database.ConnectionString, TimeSpan.FromSeconds(30), "household register");

    private const string Columns = "state, version";

    /// <summary>The households of grid $1: ids are "{grid}-h…", so a range of the primary key ('.' sorts right after '-').</summary>
    private const string InGrid = "id >= $1::text || '-' AND id < $1::text || '.'";

    public Task<HouseholdRecord?> GetAsync(string id) => RunAsync("a household", async (db, ct) =>
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM households WHERE id = $1", db);
        command.Parameters.AddWithValue(id);
        return (await ReadRowsAsync(command, ct)).FirstOrDefault();
    });

    public Task<IReadOnlyList<HouseholdRecord>> InGridAsync(string grid) => RunAsync("a grid's households", async (db, ct) =>
    {
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM households WHERE {InGrid} ORDER BY building, unit, id", db);
        command.Parameters.AddWithValue(grid);
        return await ReadRowsAsync(command, ct);
    });

    public Task WriteAsync(IReadOnlyList<HouseholdChange> changes, IReadOnlyList<BuildingInfo>? buildings = null) =>
        RunAsync("the households' change", async (db, ct) =>
        {
            // One round trip: every statement in one batch inside the transaction; the first answers how many rows were
            // at their expected versions, and a shortfall rolls all of it back.
            await using var tx = await db.BeginTransactionAsync(ct);
            await using var batch = new NpgsqlBatch(db, tx);
            batch.BatchCommands.Add(RowsCommand(changes));
            foreach (var command in new[] { PeopleGoneCommand(changes), PeopleCommand(changes), ErasureCommand(changes), LogCommand(changes),
                buildings is { Count: > 0 } ? BuildingsCommand(buildings) : null })
            {
                if (command is not null)
                {
                    batch.BatchCommands.Add(command);
                }
            }

            long matched;
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                matched = reader.GetInt64(0);
            }

            if (matched != changes.Count)
            {
                await tx.RollbackAsync(ct);
                throw new HouseholdConflictException(changes.Count == 1 ? changes[0].Record.Id : $"of grid {changes[0].Record.Grid}");
            }

            await tx.CommitAsync(ct);
            return true;
        });

    /// <summary>Rows written after their versions (people-only changes just checked and locked); any mismatch is a conflict and undoes all.</summary>
    private static NpgsqlBatchCommand RowsCommand(IReadOnlyList<HouseholdChange> changes)
    {
        var written = changes.Where(c => c.RowChanged).ToList();
        var command = new NpgsqlBatchCommand("""
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::text[], $8::smallint[],
                                     $9::boolean[], $10::timestamptz[], $11::timestamptz[], $12::smallint[], $13::timestamptz[], $14::text[])
                    AS t(id, expected, grid, building, unit, size, tags, colour, warning_open, revisit_due, due_at, due_shard, updated_at, state)),
            updated AS (
                UPDATE households h SET size = i.size, tags = string_to_array(i.tags, ','), colour = i.colour, warning_open = i.warning_open,
                    revisit_due = i.revisit_due, due_at = i.due_at, version = i.expected + 1, updated_at = i.updated_at, state = i.state
                FROM input i WHERE h.id = i.id AND i.expected > 0 AND h.version = i.expected
                RETURNING h.id),
            inserted AS (
                INSERT INTO households (id, grid, building, unit, size, tags, colour, warning_open, revisit_due, due_at, due_shard, version, updated_at, state)
                SELECT id, grid, building, unit, size, string_to_array(tags, ','), colour, warning_open, revisit_due, due_at, due_shard, 1, updated_at, state
                FROM input WHERE expected = 0
                ON CONFLICT (id) DO NOTHING
                RETURNING id),
            checked AS (
                SELECT h.id FROM households h JOIN unnest($15::text[], $16::int[]) AS k(id, expected) ON h.id = k.id AND h.version = k.expected
                FOR UPDATE OF h)
            SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) + (SELECT count(*) FROM checked)
            """);
        var p = command.Parameters;
        p.Add(Array(written, c => c.Record.Id));
        p.Add(new NpgsqlParameter { Value = written.Select(c => c.ExpectedVersion).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        p.Add(Array(written, c => c.Record.Grid));
        p.Add(Array(written, c => PostgresText.Clean(c.Record.Building, 100)));
        p.Add(Array(written, c => PostgresText.Clean(c.Record.Unit ?? "", 20)));
        p.Add(new NpgsqlParameter { Value = written.Select(c => (short)c.Record.Size).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        p.Add(Array(written, c => string.Join(',', c.Record.Tags)));
        p.Add(new NpgsqlParameter { Value = written.Select(c => (short)c.Record.Colour).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        p.Add(new NpgsqlParameter { Value = written.Select(c => c.Record.WarningId is not null).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean });
        p.Add(Times(written, c => c.Record.RevisitDueAt));
        p.Add(Times(written, c => c.Record.DueAt));
        p.Add(new NpgsqlParameter { Value = written.Select(c => (short)DeadlineShards.Of(c.Record.Id)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        p.Add(Times(written, c => c.Record.UpdatedAt));
        p.Add(Array(written, c => JsonSerializer.Serialize(Stored(c), Json)));
        var checkedOnly = changes.Where(c => !c.RowChanged).ToList();
        p.Add(Array(checkedOnly, c => c.Record.Id));
        p.Add(new NpgsqlParameter { Value = checkedOnly.Select(c => c.ExpectedVersion).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        return command;
    }

    /// <summary>The row as stored: the version is the column's, not the JSON's.</summary>
    private static HouseholdRecord Stored(HouseholdChange c)
    {
        var row = c.Record.Copy();
        row.Version = c.ExpectedVersion + 1;
        return row;
    }

    /// <summary>The people of households stored before, but not the erased: a statement of its own, so the insert after it sees them gone.</summary>
    private static NpgsqlBatchCommand? PeopleGoneCommand(IReadOnlyList<HouseholdChange> changes)
    {
        var ids = changes.Where(c => c.People is not null && c.ExpectedVersion > 0).Select(c => c.Record.Id).ToArray();
        if (ids.Length == 0)
        {
            return null;
        }

        // Joined on the key, so each is an index probe (an "= ANY" over a table that grew since it was last analysed was
        // planned as a scan of all of it).
        var command = new NpgsqlBatchCommand(
            "DELETE FROM household_people p USING unnest($1::text[]) AS d(id) WHERE p.household_id = d.id AND p.erased_at IS NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return command;
    }

    /// <summary>The new people, numbered after the household's erased ones (who keep their places: <see cref="HouseholdPeople.After"/>).</summary>
    private static NpgsqlBatchCommand? PeopleCommand(IReadOnlyList<HouseholdChange> changes)
    {
        var people = changes.Where(c => c.People is not null)
            .SelectMany(c => c.People!.Select((p, i) => (c.Record.Id, Index: i + 1, p, Stored: c.ExpectedVersion > 0))).ToList();
        if (people.Count == 0)
        {
            return null;
        }

        // A household stored before may have erased people: its list starts after the last of them, looked up per
        // household through the key (a join over the whole table was planned as a scan of it while it grew unanalysed).
        var command = new NpgsqlBatchCommand("""
            INSERT INTO household_people (household_id, position, name, phone, id_number)
            SELECT i.id, coalesce(e.last, 0) + i.idx, i.name, i.phone, i.id_number
            FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS i(id, idx, name, phone, id_number, stored)
            LEFT JOIN LATERAL (SELECT max(p.position) AS last FROM household_people p WHERE i.stored AND p.household_id = i.id AND p.erased_at IS NOT NULL) e ON true
            """);
        command.Parameters.Add(Array(people, x => x.Id));
        command.Parameters.Add(new NpgsqlParameter { Value = people.Select(x => (short)x.Index).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        command.Parameters.Add(NullableArray(people, x => x.p.Name));
        command.Parameters.Add(NullableArray(people, x => x.p.Phone));
        command.Parameters.Add(NullableArray(people, x => x.p.IdNumber));
        command.Parameters.Add(new NpgsqlParameter { Value = people.Select(x => x.Stored).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean });
        return command;
    }

    /// <summary>A person blanked, in the same transaction as the log line that records it.</summary>
    private static NpgsqlBatchCommand? ErasureCommand(IReadOnlyList<HouseholdChange> changes)
    {
        var erasures = changes.Where(c => c.Erase is not null).ToList();
        if (erasures.Count == 0)
        {
            return null;
        }

        var command = new NpgsqlBatchCommand("""
            UPDATE household_people p SET name = NULL, phone = NULL, id_number = NULL, erased_at = now(), erased_by = e.by
            FROM unnest($1::text[], $2::smallint[], $3::text[]) AS e(id, position, by)
            WHERE p.household_id = e.id AND p.position = e.position AND p.erased_at IS NULL
            """);
        command.Parameters.Add(Array(erasures, c => c.Record.Id));
        command.Parameters.Add(new NpgsqlParameter { Value = erasures.Select(c => (short)c.Erase!.Position).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        command.Parameters.Add(Array(erasures, c => PostgresText.Clean(c.Erase!.By, 128)));
        return command;
    }

    private static NpgsqlBatchCommand? LogCommand(IReadOnlyList<HouseholdChange> changes)
    {
        var logged = changes.Where(c => c.RowChanged && c.Log is not null && c.ExpectedVersion > 0).ToList();   // a new one's registration is in its row
        if (logged.Count == 0)
        {
            return null;
        }

        var command = new NpgsqlBatchCommand($"""
            WITH input AS (SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) AS t(id, seq, at, actor, kind, what)),
            pruned AS (DELETE FROM household_log l USING input i WHERE i.seq > {HouseholdLog.Kept} AND l.household_id = i.id AND l.seq <= i.seq - {HouseholdLog.Kept})
            INSERT INTO household_log (household_id, seq, at, actor, kind, what) SELECT * FROM input
            ON CONFLICT (household_id, seq) DO UPDATE SET at = excluded.at, actor = excluded.actor, kind = excluded.kind, what = excluded.what
            """);
        command.Parameters.Add(Array(logged, c => c.Record.Id));
        command.Parameters.Add(new NpgsqlParameter { Value = logged.Select(c => c.ExpectedVersion + 1).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(Times(logged, c => c.Log!.At));
        command.Parameters.Add(Array(logged, c => PostgresText.Clean(c.Log!.Actor, 128)));
        command.Parameters.Add(Array(logged, c => PostgresText.Clean(c.Log!.Kind, 32)));
        command.Parameters.Add(Array(logged, c => PostgresText.Clean(c.Log!.What, 4000)));
        return command;
    }

    private static NpgsqlBatchCommand BuildingsCommand(IReadOnlyList<BuildingInfo> buildings)
    {
        var command = new NpgsqlBatchCommand("""
            INSERT INTO household_buildings (grid, name, address, floors)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[])
            ON CONFLICT (grid, name) DO UPDATE SET address = excluded.address, floors = excluded.floors
            """);
        command.Parameters.Add(Array(buildings, b => b.Grid));
        command.Parameters.Add(Array(buildings, b => PostgresText.Clean(b.Name, 100)));
        command.Parameters.Add(NullableArray(buildings, b => b.Address is null ? null : PostgresText.Clean(b.Address, 200)));
        command.Parameters.Add(new NpgsqlParameter { Value = buildings.Select(b => b.Floors is { } f ? (short?)f : null).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        return command;
    }

    public Task<(IReadOnlyList<HouseholdRecord> Items, int Total)> ListAsync(string grid, Colour? colour, string? tag, int offset, int limit) =>
        RunAsync("a page of households", async (db, ct) =>
        {
            const string where = $"{InGrid} AND ($2::smallint IS NULL OR colour = $2) AND ($3::text IS NULL OR $3 = ANY(tags))";
            await using var batch = new NpgsqlBatch(db);
            var page = new NpgsqlBatchCommand($"SELECT {Columns} FROM households WHERE {where} ORDER BY building, unit, id OFFSET $4 LIMIT $5");
            var count = new NpgsqlBatchCommand($"SELECT count(*) FROM households WHERE {where}");
            foreach (var command in new[] { page, count })
            {
                command.Parameters.Add(new NpgsqlParameter { Value = grid });
                command.Parameters.Add(new NpgsqlParameter { Value = colour is { } c ? (short)c : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Smallint });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)tag ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                batch.BatchCommands.Add(command);
            }

            page.Parameters.Add(new NpgsqlParameter { Value = offset });
            page.Parameters.Add(new NpgsqlParameter { Value = limit });
            await using var reader = await batch.ExecuteReaderAsync(ct);
            var items = new List<HouseholdRecord>();
            while (await reader.ReadAsync(ct))
            {
                items.Add(Row(reader));
            }

            await reader.NextResultAsync(ct);
            await reader.ReadAsync(ct);
            return ((IReadOnlyList<HouseholdRecord>)items, (int)reader.GetInt64(0));
        });

    public Task<IReadOnlyList<BuildingView>> BuildingsAsync(string grid) => RunAsync("a grid's buildings", async (db, ct) =>
    {
        await using var command = new NpgsqlCommand("""
            SELECT h.building, b.address, b.floors, count(DISTINCT h.unit), count(*),
                   count(*) FILTER (WHERE h.colour = 0), count(*) FILTER (WHERE h.colour = 1), count(*) FILTER (WHERE h.colour = 2)
            FROM households h LEFT JOIN household_buildings b ON b.grid = h.grid AND b.name = h.building
            WHERE h.id >= $1 || '-' AND h.id < $1 || '.' GROUP BY h.building, b.address, b.floors ORDER BY h.building
            """, db);
        command.Parameters.AddWithValue(grid);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<BuildingView>();
        while (await reader.ReadAsync(ct))
        {
            var name = reader.GetString(0);
            list.Add(new BuildingView(HouseholdIds.Building(grid, name), grid, name, reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetInt16(2), (int)reader.GetInt64(3), (int)reader.GetInt64(4),
                (int)reader.GetInt64(5), (int)reader.GetInt64(6), (int)reader.GetInt64(7)));
        }

        return (IReadOnlyList<BuildingView>)list;
    });

    public Task<IReadOnlyList<PersonRecord>> PeopleAsync(string householdId) => RunAsync("a household's people", async (db, ct) =>
    {
        await using var command = new NpgsqlCommand(
            "SELECT position, name, phone, id_number, erased_at, erased_by FROM household_people WHERE household_id = $1 ORDER BY position", db);
        command.Parameters.AddWithValue(householdId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<PersonRecord>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new PersonRecord(reader.GetInt16(0), Text(reader, 1), Text(reader, 2), Text(reader, 3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4), Text(reader, 5)));
        }

        return (IReadOnlyList<PersonRecord>)list;
    });

    public Task<IReadOnlyDictionary<string, IReadOnlyList<PersonRecord>>> PeopleOfGridAsync(string grid) => RunAsync("a grid's people", async (db, ct) =>
    {
        // household ids start with the grid's code: a range of the primary key
        await using var command = new NpgsqlCommand("""
            SELECT household_id, position, name, phone, id_number, erased_at, erased_by FROM household_people
            WHERE household_id >= $1::text || '-' AND household_id < $1::text || '.' ORDER BY household_id, position
            """, db);
        command.Parameters.AddWithValue(grid);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var byHousehold = new Dictionary<string, IReadOnlyList<PersonRecord>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetString(0);
            var person = new PersonRecord(reader.GetInt16(1), Text(reader, 2), Text(reader, 3), Text(reader, 4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5), Text(reader, 6));
            byHousehold[id] = byHousehold.TryGetValue(id, out var list) ? [.. list, person] : [person];
        }

        return (IReadOnlyDictionary<string, IReadOnlyList<PersonRecord>>)byHousehold;
    });

    public Task<IReadOnlyList<HouseholdLogEntry>> LogAsync(string householdId, int limit) => RunAsync("a household's log", async (db, ct) =>
    {
        await using var command = new NpgsqlCommand(
            "SELECT at, actor, kind, what FROM household_log WHERE household_id = $1 ORDER BY seq DESC LIMIT $2", db);
        command.Parameters.AddWithValue(householdId);
        command.Parameters.AddWithValue(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<HouseholdLogEntry>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new HouseholdLogEntry(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return (IReadOnlyList<HouseholdLogEntry>)list;
    });

    public Task<HouseholdCounts> CountAsync(string grid, DateTimeOffset now) => RunAsync("a grid's household counts", async (db, ct) =>
    {
        await using var batch = new NpgsqlBatch(db);
        var totals = new NpgsqlBatchCommand("""
            SELECT count(*), count(*) FILTER (WHERE colour = 0), count(*) FILTER (WHERE colour = 1), count(*) FILTER (WHERE colour = 2),
                   count(*) FILTER (WHERE warning_open), count(*) FILTER (WHERE revisit_due <= $2)
            FROM households WHERE id >= $1 || '-' AND id < $1 || '.'
            """);
        totals.Parameters.Add(new NpgsqlParameter { Value = grid });
        totals.Parameters.Add(new NpgsqlParameter { Value = now });
        var byTag = new NpgsqlBatchCommand($"SELECT tag, count(*) FROM households, unnest(tags) AS tag WHERE {InGrid} GROUP BY tag");
        byTag.Parameters.Add(new NpgsqlParameter { Value = grid });
        batch.BatchCommands.Add(totals);
        batch.BatchCommands.Add(byTag);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var n = new int[6];
        for (var i = 0; i < n.Length; i++)
        {
            n[i] = (int)reader.GetInt64(i);
        }

        await reader.NextResultAsync(ct);
        var tags = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            tags[reader.GetString(0)] = (int)reader.GetInt64(1);
        }

        return new HouseholdCounts(n[0], n[1], n[2], n[3], n[4], n[5], tags.ToImmutable());
    });

    public Task<IReadOnlyList<DueItem>> DueAsync(int shard, DateTimeOffset after, DateTimeOffset upTo, int limit) => RunAsync("due households", async (db, ct) =>
    {
        await using var command = new NpgsqlCommand("""
            SELECT id, due_at FROM households WHERE due_shard = $1 AND due_at > $2 AND due_at <= $3 ORDER BY due_at, id LIMIT $4
            """, db);
        command.Parameters.AddWithValue((short)shard);
        command.Parameters.AddWithValue(after == DateTimeOffset.MinValue ? DateTimeOffset.UnixEpoch : after);
        command.Parameters.AddWithValue(upTo);
        command.Parameters.AddWithValue(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<DueItem>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new DueItem(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        return (IReadOnlyList<DueItem>)list;
    });

    public Task<IReadOnlyList<HouseholdRecord>> RevisitsDueAsync(string grid, DateTimeOffset upTo, int limit) => RunAsync("due revisits", async (db, ct) =>
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {Columns} FROM households WHERE {InGrid} AND revisit_due <= $2 ORDER BY revisit_due, id LIMIT $3", db);
        command.Parameters.AddWithValue(grid);
        command.Parameters.AddWithValue(upTo);
        command.Parameters.AddWithValue(limit);
        return await ReadRowsAsync(command, ct);
    });

    private Task<T> RunAsync<T>(string what, Func<NpgsqlConnection, CancellationToken, Task<T>> work) => _calls.RunAsync(what, work);

    private static async Task<IReadOnlyList<HouseholdRecord>> ReadRowsAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<HouseholdRecord>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(Row(reader));
        }

        return list;
    }

    private static HouseholdRecord Row(NpgsqlDataReader reader)
    {
        var row = JsonSerializer.Deserialize<HouseholdRecord>(reader.GetString(0), Json)!;
        row.Version = reader.GetInt32(1);
        return row;
    }

    private static string? Text(NpgsqlDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);

    private static NpgsqlParameter Array<T>(IEnumerable<T> items, Func<T, string> value) =>
        new() { Value = items.Select(value).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlParameter NullableArray<T>(IEnumerable<T> items, Func<T, string?> value) =>
        new() { Value = items.Select(i => value(i) is { } v ? PostgresText.Clean(v, 200) : null).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlParameter Times<T>(IEnumerable<T> items, Func<T, DateTimeOffset?> value) =>
        new() { Value = items.Select(i => value(i)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };
}
