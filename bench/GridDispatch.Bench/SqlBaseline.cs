using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace GridDispatch.Bench;

/// <summary>
/// What a city would otherwise pick: a database-centric dispatcher. One transaction per dispatch (insert the incident,
/// lock the least-loaded fitting worker of its grid with FOR UPDATE SKIP LOCKED, raise its load, insert two event rows),
/// completions in a second transaction (close the incident, lower the load, one event row); 1,000 grids × 3 workers.
/// Its own tables (baseline_*), dropped and made again at each run.
/// </summary>
public static class SqlBaseline
{
    public sealed record Result(double DispatchPerSecond, double P50Ms, double P99Ms, int Dispatched, int Completed);

    public static async Task PrepareAsync(string connectionString, int grids = 1000, int workersPerGrid = 3)
    {
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        await using var schema = new NpgsqlCommand("""
            DROP TABLE IF EXISTS baseline_events, baseline_incidents, baseline_workers;
            CREATE TABLE baseline_workers (id text PRIMARY KEY, grid int NOT NULL, load int NOT NULL DEFAULT 0, capacity int NOT NULL);
            CREATE INDEX baseline_workers_grid ON baseline_workers (grid, load);
            CREATE TABLE baseline_incidents (id bigserial PRIMARY KEY, grid int NOT NULL, category text NOT NULL, state text NOT NULL,
                worker text, reported_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX baseline_incidents_open ON baseline_incidents (state) WHERE state = 'dispatched';
            CREATE TABLE baseline_events (id bigserial PRIMARY KEY, incident bigint NOT NULL, kind text NOT NULL, at timestamptz NOT NULL DEFAULT now());
            """, db);
        await schema.ExecuteNonQueryAsync();
        await using var workers = new NpgsqlCommand(
            "INSERT INTO baseline_workers (id, grid, capacity) SELECT 'w' || g || '-' || n, g, 1000000 FROM generate_series(1, $1) g, generate_series(1, $2) n", db);
        workers.Parameters.AddWithValue(grids);
        workers.Parameters.AddWithValue(workersPerGrid);
        await workers.ExecuteNonQueryAsync();
        await using var analyze = new NpgsqlCommand("ANALYZE baseline_workers", db);
        await analyze.ExecuteNonQueryAsync();
    }

    /// <summary>8 dispatching and 8 completing clients (by default) for <paramref name="duration"/>.</summary>
    public static async Task<Result> RunAsync(string connectionString, TimeSpan duration, int dispatchers = 8, int completers = 8, int grids = 1000)
    {
        var latencies = new ConcurrentBag<double>();
        var dispatched = 0;
        var completed = 0;
        using var stop = new CancellationTokenSource(duration);
        var watch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, dispatchers).Select(c => Task.Run(async () =>
        {
            var random = new Random(c);
            await using var db = new NpgsqlConnection(connectionString);
            await db.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                if (await DispatchAsync(db, random.Next(1, grids + 1)))
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    Interlocked.Increment(ref dispatched);
                }
            }
        })).Concat(Enumerable.Range(0, completers).Select(_ => Task.Run(async () =>
        {
            await using var db = new NpgsqlConnection(connectionString);
            await db.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                if (await CompleteAsync(db))
                {
                    Interlocked.Increment(ref completed);
                }
                else
                {
                    await Task.Delay(1);
                }
            }
        }))).ToArray();
        await Task.WhenAll(tasks);
        var seconds = watch.Elapsed.TotalSeconds;
        var sorted = latencies.Order().ToArray();
        return new Result(dispatched / seconds, Percentile(sorted, 0.50), Percentile(sorted, 0.99), dispatched, completed);
    }

    private static async Task<bool> DispatchAsync(NpgsqlConnection db, int grid)
    {
        await using var tx = await db.BeginTransactionAsync();
        await using var insert = new NpgsqlCommand("INSERT INTO baseline_incidents (grid, category, state) VALUES ($1, '0101', 'accepted') RETURNING id", db, tx);
        insert.Parameters.AddWithValue(grid);
        var id = (long)(await insert.ExecuteScalarAsync())!;
        await using var pick = new NpgsqlCommand(
            "SELECT id FROM baseline_workers WHERE grid = $1 AND load < capacity ORDER BY load LIMIT 1 FOR UPDATE SKIP LOCKED", db, tx);
        pick.Parameters.AddWithValue(grid);
        if (await pick.ExecuteScalarAsync() is not string worker)
        {
            await tx.RollbackAsync();
            return false;
        }

        await using var assign = new NpgsqlBatch(db, tx)
        {
            BatchCommands =
            {
                Command("UPDATE baseline_workers SET load = load + 1 WHERE id = $1", worker),
                Command("UPDATE baseline_incidents SET state = 'dispatched', worker = $1 WHERE id = $2", worker, id),
                Command("INSERT INTO baseline_events (incident, kind) VALUES ($1, 'accepted'), ($1, 'dispatched')", id),
            },
        };
        await assign.ExecuteNonQueryAsync();
        await tx.CommitAsync();
        return true;
    }

    private static async Task<bool> CompleteAsync(NpgsqlConnection db)
    {
        await using var tx = await db.BeginTransactionAsync();
        await using var pick = new NpgsqlCommand(
            "SELECT id, worker FROM baseline_incidents WHERE state = 'dispatched' LIMIT 1 FOR UPDATE SKIP LOCKED", db, tx);
        long? found = null;
        var worker = "";
        await using (var reader = await pick.ExecuteReaderAsync())
        {
            if (await reader.ReadAsync())
            {
                (found, worker) = (reader.GetInt64(0), reader.GetString(1));
            }
        }

        if (found is not { } id)
        {
            await tx.RollbackAsync();
            return false;
        }

        await using var close = new NpgsqlBatch(db, tx)
        {
            BatchCommands =
            {
                Command("UPDATE baseline_incidents SET state = 'closed' WHERE id = $1", id),
                Command("UPDATE baseline_workers SET load = load - 1 WHERE id = $1", worker),
                Command("INSERT INTO baseline_events (incident, kind) VALUES ($1, 'closed')", id),
            },
        };
        await close.ExecuteNonQueryAsync();
        await tx.CommitAsync();
        return true;
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    /// <summary>Single-row inserts through Npgsql, one connection per client, for <paramref name="duration"/>.</summary>
    public static async Task<double> RawInsertsAsync(string connectionString, int clients, TimeSpan duration)
    {
        await using (var db = new NpgsqlConnection(connectionString))
        {
            await db.OpenAsync();
            await using var schema = new NpgsqlCommand("DROP TABLE IF EXISTS baseline_raw; CREATE TABLE baseline_raw (id bigserial PRIMARY KEY, payload text NOT NULL)", db);
            await schema.ExecuteNonQueryAsync();
        }

        var count = 0;
        using var stop = new CancellationTokenSource(duration);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            await using var db = new NpgsqlConnection(connectionString);
            await db.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO baseline_raw (payload) VALUES ('raw insert')", db);
            while (!stop.IsCancellationRequested)
            {
                await insert.ExecuteNonQueryAsync();
                Interlocked.Increment(ref count);
            }
        })));
        return count / watch.Elapsed.TotalSeconds;
    }

    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
