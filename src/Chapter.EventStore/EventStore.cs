using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.EventStore;

/// <summary>
/// Appends events to streams with optimistic concurrency and reads them back, on plain PostgreSQL.
/// Knows nothing of the domain: events are objects mapped to stable names by an <see cref="EventTypeMap"/>.
/// </summary>
public sealed class EventStore(NpgsqlDataSource dataSource, EventTypeMap types, IEnumerable<IInlineProjection> inlineProjections)
{
    private readonly IReadOnlyList<IInlineProjection> _inlineProjections = inlineProjections.ToList();

    // Each statement checks (and locks) the stream row in a CTE before the events insert takes any
    // sequence number, and the insert draws numbers only for rows joined to that CTE: an appender
    // that loses a race gets no rows back and leaves no hole in the global sequence.
    private const string InsertEvents =
        """
        INSERT INTO events (seq_id, stream_id, version, type, data, metadata, tenant_id)
        SELECT nextval('event_sequence'), @stream_id, stream.base_version + e.ordinal, e.type, e.data, @metadata, @tenant_id
        FROM stream
        CROSS JOIN unnest(@types, @datas) WITH ORDINALITY AS e (type, data, ordinal)
        RETURNING seq_id, version, timestamp
        """;

    private const string AppendToNewStream =
        """
        WITH stream AS (
            INSERT INTO streams (id, type, version, tenant_id) VALUES (@stream_id, @stream_type, @count, @tenant_id)
            ON CONFLICT (id) DO NOTHING
            RETURNING 0::bigint AS base_version
        )
        """ + InsertEvents;

    private const string AppendAtVersion =
        """
        WITH stream AS (
            UPDATE streams SET version = version + @count, updated_at = now()
            WHERE id = @stream_id AND version = @expected AND tenant_id = @tenant_id
            RETURNING version - @count AS base_version
        )
        """ + InsertEvents;

    private const string AppendAtAnyVersion =
        """
        WITH stream AS (
            INSERT INTO streams (id, type, version, tenant_id) VALUES (@stream_id, @stream_type, @count, @tenant_id)
            ON CONFLICT (id) DO UPDATE SET version = streams.version + excluded.version, updated_at = now()
            WHERE streams.tenant_id = excluded.tenant_id
            RETURNING version - @count AS base_version
        )
        """ + InsertEvents;

    public EventTypeMap Types => types;

    public Task<AppendResult> AppendAsync(StreamAppend append, EventMetadata metadata, CancellationToken cancellationToken = default) =>
        AppendAsync([append], metadata, cancellationToken);

    /// <summary>
    /// Appends to one or more streams in one transaction, together with the inline projections.
    /// Throws <see cref="ConcurrencyException"/> or <see cref="StreamAlreadyExistsException"/>, and then nothing is stored.
    /// </summary>
    public async Task<AppendResult> AppendAsync(IReadOnlyList<StreamAppend> appends, EventMetadata metadata, CancellationToken cancellationToken = default)
    {
        if (appends.Count == 0 || appends.Any(a => a.Events.Count == 0))
            throw new ArgumentException("Every stream append needs at least one event.", nameof(appends));

        var metadataJson = JsonSerializer.Serialize(metadata, types.SerializerOptions);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            var recorded = new List<RecordedEvent>();
            foreach (var append in appends)
                recorded.AddRange(await AppendToStreamAsync(connection, append, metadata, metadataJson, cancellationToken));

            if (_inlineProjections.Count > 0)
            {
                await using var batch = new NpgsqlBatch(connection);
                foreach (var projection in _inlineProjections)
                    projection.Apply(recorded, batch);
                if (batch.BatchCommands.Count > 0)
                    await batch.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return new AppendResult(recorded);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected)
        {
            // Two multi-stream appends took the same rows in opposite order; PostgreSQL chose this one to lose.
            throw new ConcurrencyException(appends[0].StreamId, appends[0].ExpectedVersion, -1);
        }
    }

    private async Task<IReadOnlyList<RecordedEvent>> AppendToStreamAsync(
        NpgsqlConnection connection, StreamAppend append, EventMetadata metadata, string metadataJson, CancellationToken cancellationToken)
    {
        var expected = append.ExpectedVersion;
        var sql = expected.IsAny ? AppendAtAnyVersion : expected.Value == 0 ? AppendToNewStream : AppendAtVersion;

        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("stream_id", append.StreamId);
        command.Parameters.AddWithValue("stream_type", append.StreamType);
        command.Parameters.AddWithValue("tenant_id", append.TenantId);
        command.Parameters.AddWithValue("count", (long)append.Events.Count);
        command.Parameters.AddWithValue("expected", expected.Value);
        command.Parameters.Add(new NpgsqlParameter("metadata", NpgsqlDbType.Jsonb) { Value = metadataJson });
        command.Parameters.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text)
        {
            Value = append.Events.Select(e => types.NameOf(e.GetType())).ToArray(),
        });
        command.Parameters.Add(new NpgsqlParameter("datas", NpgsqlDbType.Array | NpgsqlDbType.Jsonb)
        {
            Value = append.Events.Select(types.Serialize).ToArray(),
        });

        var rows = new List<(long Sequence, long Version, DateTimeOffset Timestamp)>(append.Events.Count);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                rows.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        if (rows.Count == 0)
            await ThrowWhyNothingWasAppendedAsync(connection, append, cancellationToken);

        rows.Sort((a, b) => a.Version.CompareTo(b.Version));
        return rows.Select((row, i) => new RecordedEvent(
                row.Sequence, append.StreamId, row.Version, types.NameOf(append.Events[i].GetType()),
                append.Events[i], metadata, append.TenantId, row.Timestamp))
            .ToList();
    }

    private static async Task ThrowWhyNothingWasAppendedAsync(NpgsqlConnection connection, StreamAppend append, CancellationToken cancellationToken)
    {
        if (append.ExpectedVersion == ExpectedVersion.NoStream)
            throw new StreamAlreadyExistsException(append.StreamId);

        await using var command = new NpgsqlCommand("SELECT version, tenant_id FROM streams WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", append.StreamId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            throw new ConcurrencyException(append.StreamId, append.ExpectedVersion, 0);
        if (reader.GetString(1) != append.TenantId)
            throw new InvalidOperationException($"Stream '{append.StreamId}' belongs to another tenant.");
        throw new ConcurrencyException(append.StreamId, append.ExpectedVersion, reader.GetInt64(0));
    }

    /// <summary>Reads a whole stream in version order; a missing stream has version 0 and no events.</summary>
    public async Task<StreamEvents> ReadStreamAsync(string streamId, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT seq_id, stream_id, version, type, data::text, metadata::text, tenant_id, timestamp
            FROM events WHERE stream_id = @stream_id ORDER BY version
            """);
        command.Parameters.AddWithValue("stream_id", streamId);
        var events = await ReadEventsAsync(command, cancellationToken);
        return new StreamEvents(streamId, events.Count == 0 ? 0 : events[^1].Version, events);
    }

    /// <summary>
    /// Reads events by global sequence, after <paramref name="afterSequence"/>. Sequence numbers are taken
    /// before commit, so a number below the last one read can still become visible later: a reader
    /// that must not miss events (the async daemon) has to account for that rather than rely on this order alone.
    /// </summary>
    public async Task<IReadOnlyList<RecordedEvent>> ReadAllAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT seq_id, stream_id, version, type, data::text, metadata::text, tenant_id, timestamp
            FROM events WHERE seq_id > @after ORDER BY seq_id LIMIT @max
            """);
        command.Parameters.AddWithValue("after", afterSequence);
        command.Parameters.AddWithValue("max", maxCount);
        return await ReadEventsAsync(command, cancellationToken);
    }

    private async Task<List<RecordedEvent>> ReadEventsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var events = new List<RecordedEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            events.Add(ReadEvent(reader, types, tolerateUnknownTypes: false));
        return events;
    }

    /// <summary>
    /// Maps a row of <c>seq_id, stream_id, version, type, data::text, metadata::text, tenant_id, timestamp</c>;
    /// metadata NULL (not read) maps to <see cref="EventMetadata.None"/>.
    /// An unknown type fails, or with <paramref name="tolerateUnknownTypes"/> becomes an <see cref="UnknownEvent"/>.
    /// </summary>
    internal static RecordedEvent ReadEvent(NpgsqlDataReader reader, EventTypeMap types, bool tolerateUnknownTypes)
    {
        var typeName = reader.GetString(3);
        var json = reader.GetString(4);
        return new RecordedEvent(
            reader.GetInt64(0),
            reader.GetString(1),
            reader.GetInt64(2),
            typeName,
            tolerateUnknownTypes ? types.DeserializeOrUnknown(typeName, json) : types.Deserialize(typeName, json),
            reader.IsDBNull(5) ? EventMetadata.None : JsonSerializer.Deserialize<EventMetadata>(reader.GetString(5), types.SerializerOptions) ?? EventMetadata.None,
            reader.GetString(6),
            reader.GetFieldValue<DateTimeOffset>(7));
    }
}
