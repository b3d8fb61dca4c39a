using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using GridDispatch.Api.Auth;
using GridDispatch.Silo;
using GridDispatch.Silo.Database;
using Npgsql;

namespace GridDispatch.Api.Audit;

/// <summary>One command as the audit log keeps it.</summary>
public sealed record AuditEntry(
    DateTimeOffset At, string Actor, string Role, string Scope, string Region, string Action, string Target, string Address, int Status);

/// <summary>The append-only record of every command: written without blocking the request, read by administrators.</summary>
public interface IAuditLog
{
    void Append(AuditEntry entry);

    /// <summary>Newest first: entries whose region starts with <paramref name="regionPrefix"/>, optionally of one actor.</summary>
    Task<IReadOnlyList<AuditEntry>> QueryAsync(string regionPrefix, string? actor, int limit, CancellationToken cancellationToken);
}

/// <summary>The embedded default's audit log: the newest entries in memory (not durable; PostgreSQL keeps them all).</summary>
public sealed class MemoryAuditLog : IAuditLog
{
    private const int Capacity = 200_000;
    private readonly ConcurrentQueue<AuditEntry> _entries = new();

    public void Append(AuditEntry entry)
    {
        _entries.Enqueue(entry);
        while (_entries.Count > Capacity && _entries.TryDequeue(out _))
        {
        }
    }

    public Task<IReadOnlyList<AuditEntry>> QueryAsync(string regionPrefix, string? actor, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<AuditEntry>>([.. _entries.Reverse()
            .Where(e => e.Region.StartsWith(regionPrefix, StringComparison.Ordinal) && (actor is null || e.Actor == actor))
            .Take(limit)]);
}

/// <summary>
/// The durable audit log: entries queue in a bounded channel and a background writer inserts them in batches into
/// audit_log, whose trigger refuses updates and deletes. If the database is away, entries wait (up to the buffer) and
/// the writer retries; past the buffer the oldest waiting entries are dropped and a warning is logged. Text is made
/// storable before it is written (NUL escaped, values clipped to their columns); a batch PostgreSQL still refuses for
/// good (<see cref="PostgresErrors.IsPermanent(Exception)"/>) is written again row by row, and a row that fails on its
/// own is dropped with a warning and counted in <c>griddispatch.audit.dropped</c> rather than retried forever.
/// </summary>
public sealed partial class PostgresAuditLog(DatabaseOptions database, IMeterFactory meters, ILogger<PostgresAuditLog> logger)
    : BackgroundService, IAuditLog
{
    private readonly Counter<long> _refused = GridDispatchMeter.Create(meters).CreateCounter<long>(
        "griddispatch.audit.dropped", "{row}", "Audit entries PostgreSQL refused for good, dropped from the audit log");

    private readonly Channel<AuditEntry> _buffer = Channel.CreateBounded<AuditEntry>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });

    public void Append(AuditEntry entry)
    {
        if (!_buffer.Writer.TryWrite(entry))
        {
            LogDropped();
        }
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(string regionPrefix, string? actor, int limit, CancellationToken cancellationToken)
    {
        await using var db = new NpgsqlConnection(database.ConnectionString);
        await db.OpenAsync(cancellationToken);
        await using var query = new NpgsqlCommand(
            "SELECT at, actor, role, scope, region, action, target, address, status FROM audit_log "
            + "WHERE region LIKE $1 AND ($2::text IS NULL OR actor = $2) ORDER BY at DESC, id DESC LIMIT $3", db);
        query.Parameters.AddWithValue(EscapeLike(regionPrefix) + "%");
        query.Parameters.Add(new NpgsqlParameter { Value = (object?)actor ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        query.Parameters.AddWithValue(limit);
        await using var reader = await query.ExecuteReaderAsync(cancellationToken);
        var rows = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AuditEntry(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetInt32(8)));
        }

        return rows;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AuditEntry>();
        while (await _buffer.Reader.WaitToReadAsync(stoppingToken))
        {
            while (batch.Count < 500 && _buffer.Reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }

            try
            {
                await WriteOrDropAsync(batch, stoppingToken);
                batch.Clear();
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogWriteFailed(ex, batch.Count);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    /// <summary>
    /// Writes the batch; if PostgreSQL refuses it for good, writes it row by row and drops each row that still fails.
    /// Transient failures propagate and the caller keeps the batch, minus the rows the row-by-row pass has already
    /// stored (audit_log has no natural key, so a row written twice would be kept twice).
    /// </summary>
    private async Task WriteOrDropAsync(List<AuditEntry> batch, CancellationToken cancellationToken)
    {
        try
        {
            await WriteAsync(batch, cancellationToken);
            return;
        }
        catch (Exception ex) when (PostgresErrors.IsPermanent(ex))
        {
            LogBatchRefused(ex, batch.Count);
        }

        var done = 0;
        try
        {
            foreach (var entry in batch)
            {
                try
                {
                    await WriteAsync([entry], cancellationToken);
                }
                catch (Exception ex) when (PostgresErrors.IsPermanent(ex))
                {
                    _refused.Add(1);
                    LogRowRefused(ex, PostgresErrors.SqlState(ex) ?? "none", entry.At, entry.Action);
                }

                done++;
            }
        }
        finally
        {
            batch.RemoveRange(0, done);
        }
    }

    private async Task WriteAsync(List<AuditEntry> batch, CancellationToken cancellationToken)
    {
        await using var db = new NpgsqlConnection(database.ConnectionString);
        await db.OpenAsync(cancellationToken);
        await using var copy = await db.BeginBinaryImportAsync(
            "COPY audit_log (at, actor, role, scope, region, action, target, address, status) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var e in batch)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(e.At, NpgsqlTypes.NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync(Clip(e.Actor, 128), cancellationToken);
            await copy.WriteAsync(Clip(e.Role, 32), cancellationToken);
            await copy.WriteAsync(Clip(e.Scope, 64), cancellationToken);
            await copy.WriteAsync(Clip(e.Region, 64), cancellationToken);
            await copy.WriteAsync(Clip(e.Action, 128), cancellationToken);
            await copy.WriteAsync(Clip(e.Target, 256), cancellationToken);
            await copy.WriteAsync(Clip(e.Address, 64), cancellationToken);
            await copy.WriteAsync(e.Status, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }

    /// <summary>Fits a value to its varchar column: NUL escaped, unpaired surrogates replaced, clipped to the limit.</summary>
    private static string Clip(string value, int length) => PostgresText.Clean(value, length);

    private static string EscapeLike(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Writing {Count} audit entries failed; retrying")]
    private partial void LogWriteFailed(Exception ex, int count);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "The audit buffer is full: the oldest waiting entry was dropped")]
    private partial void LogDropped();

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "PostgreSQL refused a batch of {Count} audit entries for good; writing them one by one")]
    private partial void LogBatchRefused(Exception ex, int count);

    // Who and which target are not logged: they are what the audit log protects.
    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning,
        Message = "PostgreSQL refused the audit entry of {Action} at {At} for good (SQL state {SqlState}); dropped")]
    private partial void LogRowRefused(Exception ex, string sqlState, DateTimeOffset at, string action);
}

/// <summary>Records every command (any method but GET/HEAD/OPTIONS), and every refused read, with who, what, where, when, from where and the result.</summary>
public static class AuditMiddleware
{
    private const string RegionKey = "gd.audit.region";

    /// <summary>The region a command applied to, for the audit log (endpoints call it once they know).</summary>
    public static void AuditRegion(this HttpContext context, string region) => context.Items[RegionKey] = region;

    public static IApplicationBuilder UseAudit(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var method = context.Request.Method;
        var read = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);
        if (context.Request.Path.StartsWithSegments("/hubs"))
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            // Commands always; reads only when a signed-in caller was refused (an attempt to see what is not theirs).
            if (!read || context.Response.StatusCode == StatusCodes.Status403Forbidden)
            {
                Record(context, method);
            }
        }
    });

    private static void Record(HttpContext context, string method)
    {
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path.Value ?? "";
        var region = context.Items.TryGetValue(RegionKey, out var r) && r is string code ? code : null;
        context.RequestServices.GetRequiredService<IAuditLog>().Append(
            Entry(context, $"{method} {route}", context.Request.Path.Value ?? "", region, context.Response.StatusCode));
    }

    /// <summary>
    /// An entry for what <paramref name="context"/>'s caller asked: who, their role and region from the token, the
    /// region it applied to (their own when not given), from which address, and the status it got.
    /// </summary>
    public static AuditEntry Entry(HttpContext context, string action, string target, string? region, int status)
    {
        var user = context.User;
        var actor = user.Identity?.IsAuthenticated == true ? user.UserId() : "anonymous";
        var scope = user.FindFirst(GridClaims.Scope)?.Value ?? "";
        return new AuditEntry(DateTimeOffset.UtcNow, actor, user.FindFirst(GridClaims.Role)?.Value ?? "", scope, region ?? scope, action, target,
            context.Connection.RemoteIpAddress?.ToString() ?? "", status);
    }
}
