using System.Globalization;
using GridDispatch.Domain;
using Npgsql;
using NpgsqlTypes;

namespace GridDispatch.Silo.Database;

/// <summary>
/// The change feed on incident_events (migration 014). Rows are read in (tx, incident_id, seq) order, and only rows of
/// transactions below the oldest one still running: those transactions are over, so no row can later appear before a
/// cursor handed out. A page therefore lags the newest commit by the longest transaction running on the server at that
/// moment (a group commit lasts milliseconds; an idle transaction left open anywhere on the server holds the feed back
/// until it ends). An incident's rows come in sequence order: its next append starts after the last one committed.
/// </summary>
public sealed class PostgresChangeFeed(DatabaseOptions database, IncidentStoreOptions options) : IChangeFeed
{
    /// <summary>
    /// The next rows after the cursor, each with its incident's grid and category (from its Reported row), through
    /// incident_events_feed and the primary key.
    /// </summary>
    private const string PageSql = """
        SELECT s.tx::text, s.incident_id, s.seq, s.kind, s.actor, s.at, s.from_state, s.to_state, s.payload::text,
               r.payload->'report'->>'gridCode', r.payload->'report'->>'category'
        FROM (SELECT e.tx, e.incident_id, e.seq, e.kind, e.actor, e.at, e.from_state, e.to_state, e.payload
              FROM incident_events e
              WHERE (e.tx, e.incident_id, e.seq) > ($1::text::xid8, $2, $3)
                AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY e.tx, e.incident_id, e.seq
              LIMIT $4) s
        LEFT JOIN LATERAL (SELECT payload FROM incident_events r
                           WHERE r.incident_id = s.incident_id AND r.kind = 'Reported' ORDER BY r.seq LIMIT 1) r ON true
        ORDER BY s.tx, s.incident_id, s.seq
        """;

    private readonly StoreResilience _resilience = new(options, breaker: false);

    public async Task<FeedPage> ReadAsync(FeedQuery query, CancellationToken cancellationToken = default)
    {
        List<(FeedCursor At, string Grid, string Category, TimelineEntry Entry)> rows;
        try
        {
            rows = await _resilience.Pipeline.ExecuteAsync(static (s, ct) => s.Feed.ReadRowsAsync(s.Query, ct), (Feed: this, Query: query), cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or Polly.Timeout.TimeoutRejectedException)
        {
            throw new StoreUnavailableException("The change feed cannot be read now", StoreResilience.Portable(ex));
        }

        var items = new List<FeedItem>();
        var next = query.After;
        var examined = 0;
        foreach (var (at, grid, category, entry) in rows)
        {
            if (items.Count == query.Limit)
            {
                break;
            }

            next = at;
            examined++;
            if (query.Matches(grid, category, entry.Kind))
            {
                items.Add(new FeedItem(at, at.IncidentId, grid, category, entry));
            }
        }

        return new FeedPage(items, next, examined < rows.Count || rows.Count == query.Scan);
    }

    private async ValueTask<List<(FeedCursor, string, string, TimelineEntry)>> ReadRowsAsync(FeedQuery query, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var read = new NpgsqlCommand(PageSql, connection);
        read.Parameters.Add(new NpgsqlParameter { Value = query.After.Position.ToString(CultureInfo.InvariantCulture), NpgsqlDbType = NpgsqlDbType.Text });
        read.Parameters.Add(new NpgsqlParameter { Value = query.After.IncidentId, NpgsqlDbType = NpgsqlDbType.Varchar });
        read.Parameters.Add(new NpgsqlParameter { Value = query.After.Seq, NpgsqlDbType = NpgsqlDbType.Integer });
        read.Parameters.Add(new NpgsqlParameter { Value = query.Scan, NpgsqlDbType = NpgsqlDbType.Integer });
        await read.PrepareAsync(cancellationToken);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        var rows = new List<(FeedCursor, string, string, TimelineEntry)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var at = new FeedCursor(ulong.Parse(reader.GetString(0), CultureInfo.InvariantCulture), reader.GetString(1), reader.GetInt32(2));
            var entry = TimelineRows.Read(at.Seq, reader.GetString(3), reader.GetString(4), reader.GetDateTime(5), reader.GetString(6), reader.GetString(7),
                reader.GetString(8));
            rows.Add((at, reader.IsDBNull(9) ? "" : reader.GetString(9), reader.IsDBNull(10) ? "" : reader.GetString(10), entry));
        }

        return rows;
    }
}
