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
    // Guarded rather than IF NOT EXISTS: PostgreSQL checks the right to create in the schema even when the table exists, and
    // a database the service may not alter (its scripts applied by an operator) must start without that right.
    private const string VersionsTableSql =
        """
        DO $versions$ BEGIN
          IF to_regclass('schema_versions') IS NULL THEN
            CREATE TABLE schema_versions (
                component  text        NOT NULL,
                version    int         NOT NULL,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version)
            );
          END IF;
        END $versions$;
        """;

    /// <summary>
    /// The scripts not yet recorded in <c>schema_versions</c> of this database, each followed by the row that records it,
    /// in one transaction: what <see cref="MigrateAsync"/> would apply, for an operator to apply by hand instead.
    /// </summary>
    public static async Task<string> ScriptAsync(NpgsqlDataSource dataSource, IEnumerable<Migration> migrations, string epilogue,
        CancellationToken cancellationToken = default)
    {
        var applied = new HashSet<(string, int)>();
        await using (var exists = dataSource.CreateCommand("SELECT to_regclass('schema_versions') IS NOT NULL"))
            if ((bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                await using var command = dataSource.CreateCommand("SELECT component, version FROM schema_versions");
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                    applied.Add((reader.GetString(0), reader.GetInt32(1)));
            }
        var script = new System.Text.StringBuilder("-- Chapter's own tables: the scripts this database has not recorded, each recorded as it is applied.\nBEGIN;\n")
            .AppendLine(VersionsTableSql);
        foreach (var migration in migrations.Where(m => !applied.Contains((m.Component, m.Version))))
            script.AppendLine($"-- {migration.Component} {migration.Version:000} {migration.Name}")
                .AppendLine(migration.Sql.TrimEnd().TrimEnd(';') + ";")
                .AppendLine($"INSERT INTO schema_versions (component, version, name) VALUES ('{migration.Component}', {migration.Version}, '{migration.Name}');");
        return script.AppendLine(epilogue).AppendLine("COMMIT;").ToString();
    }

    public static async Task MigrateAsync(NpgsqlDataSource dataSource, IEnumerable<Migration> migrations, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var command = new NpgsqlCommand(
            $"""
            SELECT pg_advisory_xact_lock(@key);
            {VersionsTableSql}
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
