using GridDispatch.Domain;
using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace GridDispatch.Silo.Database;

/// <summary>
/// The incident store's SQL on incident_events: one attempt at a batch's transaction, and the read of a timeline.
/// Callers wrap both in <see cref="StoreResilience"/>.
/// </summary>
internal sealed class IncidentEventsTable(string connectionString)
{

    /// <summary>The unique index that keeps one incident per (report source, external id).</summary>
    public const string IntakeIndex = "incident_events_intake_key";

    /// <summary>
    /// Inserts every row, skipping those already taken. Rows go in key order, so two silos' batches lock keys in the same
    /// order. No check that row v itself is here: an incident written before the store starts from a snapshot whose
    /// entries the old event log writes later (or has set aside), and its first append must not wait for them.
    /// </summary>
    private const string InsertSql = """
        INSERT INTO incident_events (incident_id, seq, kind, actor, at, from_state, to_state, payload, due_at, due_shard)
        SELECT r.incident_id, r.seq, r.kind, r.actor, r.at, r.from_state, r.to_state, r.payload, r.due_at, r.due_shard
        FROM unnest($1::varchar[], $2::integer[], $3::varchar[], $4::varchar[], $5::timestamptz[], $6::varchar[], $7::varchar[], $8::jsonb[],
                    $9::timestamptz[], $10::smallint[])
             AS r (incident_id, seq, kind, actor, at, from_state, to_state, payload, due_at, due_shard)
        ORDER BY r.incident_id, r.seq
        ON CONFLICT (incident_id, seq) DO NOTHING
        RETURNING incident_id, seq
        """;

    /// <summary>
    /// A shard's due rows in a window that are still their incident's latest row (a later row replaced the due time),
    /// through incident_events_due and the primary key.
    /// </summary>
    private const string DueSql = """
        SELECT e.incident_id, e.due_at FROM incident_events e
        WHERE e.due_shard = $1 AND e.due_at > $2 AND e.due_at <= $3 AND e.due_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM incident_events n WHERE n.incident_id = e.incident_id AND n.seq > e.seq)
        ORDER BY e.due_at
        LIMIT $4
        """;

    /// <summary>A grid's incidents without a Closed or Cancelled row, through incident_events_grid and the primary key.</summary>
    private const string OpenInGridSql = """
        SELECT r.incident_id FROM incident_events r
        WHERE r.kind = 'Reported' AND r.payload->'report'->>'gridCode' = $1
          AND NOT EXISTS (SELECT 1 FROM incident_events t WHERE t.incident_id = r.incident_id AND t.to_state IN ('Closed', 'Cancelled'))
        LIMIT $2
        """;

    private const string SelectColumns = "SELECT incident_id, seq, kind, actor, at, from_state, to_state, payload";

    /// <summary>One attempt: insert every row in one transaction; commit unless some append conflicts.</summary>
    public async ValueTask<CommitOutcome> TryCommitAsync(IReadOnlyList<PendingAppend> appends, CancellationToken cancellationToken)
    {
        var count = appends.Sum(a => a.Entries.Length);
        var (ids, seqs, kinds, actors, ats, froms, tos, payloads) =
            (new string[count], new int[count], new string[count], new string[count], new DateTime[count], new string[count], new string[count], new string[count]);
        var (dues, shards) = (new DateTime?[count], new short?[count]);
        var row = 0;
        foreach (var append in appends)
        {
            for (var i = 0; i < append.Entries.Length; i++, row++)
            {
                var e = append.Entries[i];
                (ids[row], seqs[row], kinds[row], actors[row], ats[row]) = (append.IncidentId, e.Seq, e.Kind.ToString(), e.Actor, e.At.UtcDateTime);
                (froms[row], tos[row], payloads[row]) = (e.From.ToString(), e.To.ToString(), append.Payloads[i]);
                if (i == append.Entries.Length - 1 && append.NextDue is { } due)
                {
                    (dues[row], shards[row]) = (due.UtcDateTime, (short)DeadlineShards.Of(append.IncidentId));
                }
            }
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var inserted = new HashSet<(string, int)>();
        await using (var insert = new NpgsqlCommand(InsertSql, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = ids });
            insert.Parameters.Add(new NpgsqlParameter { Value = seqs });
            insert.Parameters.Add(new NpgsqlParameter { Value = kinds });
            insert.Parameters.Add(new NpgsqlParameter { Value = actors });
            insert.Parameters.Add(new NpgsqlParameter { Value = ats, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            insert.Parameters.Add(new NpgsqlParameter { Value = froms });
            insert.Parameters.Add(new NpgsqlParameter { Value = tos });
            insert.Parameters.Add(new NpgsqlParameter { Value = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            insert.Parameters.Add(new NpgsqlParameter { Value = dues, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            insert.Parameters.Add(new NpgsqlParameter { Value = shards, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                inserted.Add((reader.GetString(0), reader.GetInt32(1)));
            }
        }

        var incomplete = appends.Where(a => a.Entries.Any(e => !inserted.Contains((a.IncidentId, e.Seq)))).ToList();
        var conflicts = incomplete.Count == 0 ? incomplete : await NotStoredAlreadyAsync(incomplete, connection, transaction, cancellationToken);
        if (conflicts.Count > 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return new CommitOutcome(conflicts, 0);
        }

        await transaction.CommitAsync(cancellationToken);
        return new CommitOutcome([], inserted.Count);
    }

    /// <summary>
    /// Of the appends that did not get all their rows, those whose rows are not already there exactly as they would
    /// write them: the true conflicts. (Equal rows mean an earlier attempt committed and only its answer was lost.)
    /// </summary>
    private static async Task<List<PendingAppend>> NotStoredAlreadyAsync(
        List<PendingAppend> appends, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var keys = appends.SelectMany(a => a.Entries.Select(e => (a.IncidentId, e.Seq))).ToList();
        await using var read = new NpgsqlCommand(
            $"{SelectColumns} FROM incident_events WHERE (incident_id, seq) IN (SELECT * FROM unnest($1::varchar[], $2::integer[]))", connection, transaction);
        read.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.IncidentId).ToArray() });
        read.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.Seq).ToArray() });
        var stored = new Dictionary<(string, int), TimelineEntry?>();
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                stored[(reader.GetString(0), reader.GetInt32(1))] = TryReadEntry(reader);
            }
        }

        return [.. appends.Where(a => !a.Entries.All(e =>
            stored.GetValueOrDefault((a.IncidentId, e.Seq)) is { } s && s == e with { At = TimelineRows.AsStored(e.At) }))];
    }

    /// <summary>The entries after <paramref name="afterSeq"/>, with the due time stored in the last row (the latest append's).</summary>
    public async ValueTask<StoredTimeline> ReadAsync(string incidentId, int afterSeq, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync($"{SelectColumns}, due_at FROM incident_events WHERE incident_id = $1 AND seq > $2 ORDER BY seq",
            r => (Entry: ReadEntry(r), Due: r.IsDBNull(8) ? (DateTimeOffset?)null : new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(8), DateTimeKind.Utc))),
            cancellationToken,
            new NpgsqlParameter { Value = incidentId, NpgsqlDbType = NpgsqlDbType.Varchar },
            new NpgsqlParameter { Value = afterSeq, NpgsqlDbType = NpgsqlDbType.Integer });
        return new StoredTimeline([.. rows.Select(r => r.Entry)], rows.Count > 0 ? rows[^1].Due : null);
    }

    public ValueTask<IReadOnlyList<DueIncident>> DueAsync(int shard, DateTimeOffset after, DateTimeOffset upTo, int limit, CancellationToken cancellationToken) =>
        QueryAsync(DueSql, r => new DueIncident(r.GetString(0), new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(1), DateTimeKind.Utc))), cancellationToken,
            new NpgsqlParameter { Value = (short)shard, NpgsqlDbType = NpgsqlDbType.Smallint },
            new NpgsqlParameter { Value = after.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz },
            new NpgsqlParameter { Value = upTo.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz },
            new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer });

    public ValueTask<IReadOnlyList<string>> OpenInGridAsync(string gridCode, int limit, CancellationToken cancellationToken) =>
        QueryAsync(OpenInGridSql, r => r.GetString(0), cancellationToken,
            new NpgsqlParameter { Value = gridCode, NpgsqlDbType = NpgsqlDbType.Text },
            new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer });

    /// <summary>A read: its own pooled connection, the statement prepared on it (once per connection; see ConnectionTuning), every row mapped.</summary>
    private async ValueTask<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken,
        params NpgsqlParameter[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var read = new NpgsqlCommand(sql, connection);
        read.Parameters.AddRange(parameters);
        await read.PrepareAsync(cancellationToken);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    private static TimelineEntry ReadEntry(NpgsqlDataReader r) =>
        TimelineRows.Read(r.GetInt32(1), r.GetString(2), r.GetString(3), r.GetDateTime(4), r.GetString(5), r.GetString(6), r.GetString(7));

    private static TimelineEntry? TryReadEntry(NpgsqlDataReader r)
    {
        try
        {
            return ReadEntry(r);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or ArgumentException or NotSupportedException)
        {
            return null; // A row this silo cannot read is not the row it would write.
        }
    }
}

/// <summary>The outcome of one attempt: committed (no conflicts) or rolled back because of <see cref="Conflicts"/>.</summary>
internal sealed record CommitOutcome(IReadOnlyList<PendingAppend> Conflicts, int Rows);

/// <summary>An append waiting for its batch's commit; its payloads are serialized when it is queued.</summary>
internal sealed class PendingAppend(string incidentId, int expectedVersion, TimelineEntry[] entries, string[] payloads, DateTimeOffset? nextDue = null)
{
    public DateTimeOffset? NextDue => nextDue;

    public string IncidentId => incidentId;

    public int ExpectedVersion => expectedVersion;

    public TimelineEntry[] Entries => entries;

    public string[] Payloads => payloads;

    public long Queued { get; } = Stopwatch.GetTimestamp();

    /// <summary>The span of the call that queued the append, for the commit's span (<see cref="Telemetry.CommitSpans"/>).</summary>
    public ActivityContext Caller { get; } = Telemetry.CommitSpans.Caller();

    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
