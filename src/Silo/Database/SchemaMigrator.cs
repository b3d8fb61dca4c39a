using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace GridDispatch.Silo.Database;

/// <summary>
/// Applies the versioned SQL migrations of deploy/sql (embedded in this assembly) to a PostgreSQL database.
/// Idempotent: applied versions are recorded in gd_schema_migrations with a checksum; a changed script that was already
/// applied is refused rather than silently skipped. Safe when several silos start at once: a session-level advisory
/// lock serialises them, and each migration runs in its own transaction.
/// </summary>
public static class SchemaMigrator
{
    /// <summary>Advisory lock key shared by every GridDispatch process ("GDMIGRAT" as a number).</summary>
    private const long LockKey = 0x4744_4D49_4752_4154;

    public sealed record Migration(int Version, string Name, string Sql)
    {
        public string Checksum => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql.ReplaceLineEndings("\n"))));
    }

    public static IReadOnlyList<Migration> Migrations { get; } = LoadEmbedded();

    /// <summary>Applies what is missing; returns the names of the migrations applied by this call.</summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await Execute(connection, $"SELECT pg_advisory_lock({LockKey})", cancellationToken);
        try
        {
            await Execute(connection, """
                CREATE TABLE IF NOT EXISTS gd_schema_migrations
                (
                    version    integer     NOT NULL PRIMARY KEY,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, cancellationToken);

            var applied = new Dictionary<int, string>();
            await using (var read = new NpgsqlCommand("SELECT version, checksum FROM gd_schema_migrations", connection))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied[reader.GetInt32(0)] = reader.GetString(1);
                }
            }

            var done = new List<string>();
            foreach (var migration in Migrations)
            {
                if (applied.TryGetValue(migration.Version, out var checksum))
                {
                    if (checksum != migration.Checksum)
                    {
                        throw new InvalidOperationException(
                            $"Migration {migration.Name} was changed after it was applied; add a new migration instead of editing an applied one.");
                    }

                    continue;
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using (var apply = new NpgsqlCommand(migration.Sql, connection, transaction))
                {
                    await apply.ExecuteNonQueryAsync(cancellationToken);
                }

                await using (var record = new NpgsqlCommand("INSERT INTO gd_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", connection, transaction))
                {
                    record.Parameters.AddWithValue(migration.Version);
                    record.Parameters.AddWithValue(migration.Name);
                    record.Parameters.AddWithValue(migration.Checksum);
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                done.Add(migration.Name);
            }

            return done;
        }
        finally
        {
            await Execute(connection, $"SELECT pg_advisory_unlock({LockKey})", CancellationToken.None);
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        const string prefix = "GridDispatch.sql.";
        return [.. assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                var name = n[prefix.Length..];
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return new Migration(int.Parse(name[..name.IndexOf('_')], System.Globalization.CultureInfo.InvariantCulture), name, reader.ReadToEnd());
            })
            .OrderBy(m => m.Version)];
    }
}

/// <summary>Runs the migrations first thing in the silo's start-up, before membership, storage or reminders touch the database.</summary>
internal sealed partial class SchemaMigrationParticipant(DatabaseOptions options, Microsoft.Extensions.Logging.ILogger<SchemaMigrationParticipant> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SchemaMigrationParticipant), ServiceLifecycleStage.First, async cancellationToken =>
        {
            var applied = await Resilience.Startup(options).ExecuteAsync(
                async ct => await SchemaMigrator.MigrateAsync(options.ConnectionString, ct), cancellationToken);
            LogMigrated(applied.Count, applied.Count == 0 ? "none" : string.Join(", ", applied));
        });

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 8001, Level = Microsoft.Extensions.Logging.LogLevel.Information,
        Message = "Database schema up to date; {Count} migration(s) applied now: {Names}")]
    private partial void LogMigrated(int count, string names);
}
