using System.Reflection;
using Npgsql;

namespace Chapter.Projections;

/// <summary>One numbered SQL script of a component's schema, applied once.</summary>
public sealed record Migration(string Component, int Version, string Name, string Sql)
{
    /// <summary>
    /// Reads embedded resources named <c>…NNN_description.sql</c> from an assembly; with <paramref name="folder"/> (e.g.
    /// <c>Chapter.Api.Access.Schema</c>) only those in that folder, for an assembly that holds several components' scripts.
    /// </summary>
    public static IReadOnlyList<Migration> FromEmbeddedScripts(Assembly assembly, string component, string? folder = null) =>
        assembly.GetManifestResourceNames()
            .Where(name => name.EndsWith(".sql", StringComparison.Ordinal) && (folder is null || name.StartsWith(folder + ".", StringComparison.Ordinal)))
            .Select(name =>
            {
                var fileName = name[..^4].Split('.').Last();
                var separator = fileName.IndexOf('_');
                if (separator < 1 || !int.TryParse(fileName[..separator], out var version))
                    throw new InvalidOperationException($"Migration script '{name}' must be named NNN_description.sql");
                using var stream = assembly.GetManifestResourceStream(name)!;
                using var reader = new StreamReader(stream);
                return new Migration(component, version, fileName, reader.ReadToEnd());
            })
            .OrderBy(migration => migration.Version)
            .ToList();
}

/// <summary>
/// Our own tables beside Marten's: the inline views, prospect keys, access tokens and the async projections' state.
/// Marten creates and migrates its event store tables itself; these are plain SQL we keep in numbered scripts.
/// </summary>
public static class SchemaMigrator
{
    // Any constant works; it only has to be the same for every process migrating this database.
    private const long MigrationLockKey = 0x43686170746572;

    /// <summary>
    /// Applies the scripts not yet recorded in <c>schema_versions</c>, in one transaction under an
    /// advisory lock, so several instances starting at once migrate exactly once.
    /// </summary>
    public static async Task MigrateAsync(NpgsqlDataSource dataSource, IEnumerable<Migration> migrations, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var command = new NpgsqlCommand(
            """
            SELECT pg_advisory_xact_lock(@key);
            CREATE TABLE IF NOT EXISTS schema_versions (
                component  text        NOT NULL,
                version    int         NOT NULL,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version)
            );
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("key", MigrationLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new HashSet<(string, int)>();
        await using (var command = new NpgsqlCommand("SELECT component, version FROM schema_versions", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                applied.Add((reader.GetString(0), reader.GetInt32(1)));
        }

        foreach (var migration in migrations.Where(m => !applied.Contains((m.Component, m.Version))))
        {
            await using var apply = new NpgsqlCommand(migration.Sql, connection, transaction);
            await apply.ExecuteNonQueryAsync(cancellationToken);
            await using var record = new NpgsqlCommand(
                "INSERT INTO schema_versions (component, version, name) VALUES (@component, @version, @name)", connection, transaction);
            record.Parameters.AddWithValue("component", migration.Component);
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("name", migration.Name);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}
