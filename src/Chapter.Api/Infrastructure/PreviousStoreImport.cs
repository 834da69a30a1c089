using Chapter.Domain;
using Chapter.Projections.Activity;
using Npgsql;

namespace Chapter.Api.Infrastructure;

/// <summary>
/// The first version kept its events in tables of its own (<c>events</c>, <c>streams</c>). An operator copies them into
/// Marten's tables once, with the command <c>import-previous-store</c>, in one transaction (the service refuses to start over
/// such a database until then, rather than serve an empty store beside them): the same order and global sequence numbers,
/// stream keys, versions, timestamps, tenants and metadata, payloads as stored (sealed prospects stay sealed; erased ones stay
/// erased, since their keys are gone). The old tables are then renamed <c>*_imported_to_marten</c>, never read again by
/// the service except to tell an integration holding an old feed cursor where to start again.
/// </summary>
public static class PreviousStoreImport
{
    public const string ImportedEvents = "events_imported_to_marten";

    public const string Command = "import-previous-store";

    public static async Task<bool> IsPendingAsync(NpgsqlDataSource db, CancellationToken ct = default)
    {
        await using var command = db.CreateCommand("SELECT to_regclass('public.events') IS NOT NULL AND to_regclass('public.streams') IS NOT NULL");
        return await command.ExecuteScalarAsync(ct) is true;
    }

    public static async Task<long> ImportAsync(NpgsqlDataSource db, ILogger logger, CancellationToken ct = default)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // One instance imports; another starting at the same moment waits here and then finds nothing left to do.
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(4449)", ct);
        if (!await IsPendingAsync(db, ct))
            return 0;
        await using (var empty = new NpgsqlCommand("SELECT NOT EXISTS (SELECT 1 FROM mt_events)", connection, transaction))
        {
            if (await empty.ExecuteScalarAsync(ct) is not true)
                throw new InvalidOperationException(
                    "This database holds events both in the previous event store's tables (events, streams) and in Marten's: " +
                    "the import runs only into an empty Marten event store. Nothing was changed.");
        }

        // No writer of the previous version may append while its events move.
        await ExecuteAsync(connection, transaction, "LOCK TABLE events, streams IN EXCLUSIVE MODE", ct);
        await ExecuteAsync(connection, transaction,
            "INSERT INTO mt_streams (id, version, timestamp, created, tenant_id, is_archived) SELECT id, version, updated_at, created_at, tenant_id, false FROM streams", ct);
        await using (var copy = new NpgsqlCommand(
            """
            INSERT INTO mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type,
                                   correlation_id, causation_id, user_name, is_archived)
            SELECT e.seq_id, gen_random_uuid(), e.stream_id, e.version, e.data, e.type, e.timestamp, e.tenant_id, t.dotnet_type,
                   e.metadata ->> 'correlationId', e.metadata ->> 'causationId', e.metadata ->> 'actorId', false
            FROM events e LEFT JOIN unnest($1::text[], $2::text[]) AS t (type, dotnet_type) ON t.type = e.type
            ORDER BY e.seq_id
            """, connection, transaction))
        {
            copy.Parameters.Add(new NpgsqlParameter { Value = EventNames.All.Values.ToArray() });
            copy.Parameters.Add(new NpgsqlParameter { Value = EventNames.All.Keys.Select(type => $"{type.FullName}, {type.Assembly.GetName().Name}").ToArray() });
            await copy.ExecuteNonQueryAsync(ct);
        }
        await ExecuteAsync(connection, transaction,
            """
            SELECT setval('mt_events_sequence', greatest((SELECT max(seq_id) FROM mt_events), 1));
            ALTER TABLE events RENAME TO events_imported_to_marten;
            ALTER TABLE streams RENAME TO streams_imported_to_marten;
            -- The activity facts are rebuilt from the imported events by Marten's daemon, from its first checkpoint.
            DROP TABLE IF EXISTS projection_progress;
            DO $$ BEGIN
                IF to_regnamespace('proj_activity') IS NOT NULL THEN ALTER SCHEMA proj_activity RENAME TO proj_activity__previous_store; END IF;
            END $$;
            """, ct);

        // The inline views the first version had are there already; the one it had not is filled from the imported events. A data
        // migration, which Weasel's table definitions cannot express: it is this command's.
        await ExecuteAsync(connection, transaction,
            """
            INSERT INTO one_to_one_view (id, chapter_id, member_a, member_b, held_on, note, recorded_at)
            SELECT (data->>'oneToOneId')::uuid, data->>'chapterId', (data->>'memberA')::uuid, (data->>'memberB')::uuid, (data->>'date')::date,
                   data->>'note', (data->>'recordedAt')::timestamptz
            FROM mt_events WHERE type = 'one-to-one.held.v1'
            ON CONFLICT (id) DO NOTHING;
            """, ct);

        await using var count = new NpgsqlCommand("SELECT count(*) FROM mt_events", connection, transaction);
        var imported = (long)(await count.ExecuteScalarAsync(ct))!;
        await transaction.CommitAsync(ct);
        // The previous store's facts go, a few hundred partitions at a time; Marten's daemon rebuilds them from the imported events.
        await ActivityProjection.DropSchemaAsync(db, $"{ActivityProjection.Schema}__previous_store", ct);
        await ActivityProjection.DropSchemaAsync(db, ActivityProjection.RebuildSchema, ct);
        await ActivityProjection.EnsureSchemaAsync(db, ct);
        logger.LogWarning("Imported {Count} events of the previous event store into Marten's tables; the old tables are kept as *_imported_to_marten", imported);
        return imported;
    }

    /// <summary>
    /// Where a feed cursor of the previous store (<c>transaction-sequence</c>, in commit order) resumes in sequence order:
    /// before the first event it had not yet passed. Events after that it had already read may come again; none is skipped.
    /// Null when no imported events are left to tell.
    /// </summary>
    public static async Task<long?> ResumeAfterAsync(NpgsqlDataSource db, string tenant, ulong transactionId, long sequence, CancellationToken ct)
    {
        await using var exists = db.CreateCommand($"SELECT to_regclass('public.{ImportedEvents}') IS NOT NULL");
        if (await exists.ExecuteScalarAsync(ct) is not true)
            return null;
        await using var command = db.CreateCommand(
            $"""
            SELECT coalesce(min(seq_id) - 1, (SELECT coalesce(max(seq_id), 0) FROM {ImportedEvents} WHERE tenant_id = $1))
            FROM {ImportedEvents} WHERE tenant_id = $1 AND (tx_id, seq_id) > ($2::text::xid8, $3)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = transactionId.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        command.Parameters.Add(new NpgsqlParameter { Value = sequence });
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
    }
}
