using Npgsql;
using NpgsqlTypes;

namespace Chapter.EventStore.Daemon;

/// <summary>
/// Reads the events that are safe to project: those appended by a transaction older than the oldest
/// transaction still running (<c>pg_snapshot_xmin</c>). Such a transaction has committed or rolled back,
/// so nothing can appear before the cursor later. A transaction left open anywhere on the server holds
/// readers back; the daemon reports that as lag with the blocking session.
/// </summary>
internal sealed class CommittedEvents(NpgsqlDataSource dataSource, EventTypeMap types)
{
    public async Task<IReadOnlyList<PositionedEvent>> ReadAsync(
        EventPosition after, EventPosition? upTo, int maxCount, bool withMetadata, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT seq_id, stream_id, version, type, data::text, {(withMetadata ? "metadata::text" : "NULL::text")}, tenant_id, timestamp, tx_id
            FROM events
            WHERE (tx_id, seq_id) > ($1, $2)
              AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
              AND ($3::xid8 IS NULL OR (tx_id, seq_id) <= ($3, $4))
            ORDER BY tx_id, seq_id
            LIMIT $5
            """);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = after.TransactionId });
        command.Parameters.Add(new NpgsqlParameter { Value = after.Sequence });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = upTo is { } bound ? bound.TransactionId : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = upTo is { } b ? b.Sequence : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { Value = maxCount });

        var events = new List<PositionedEvent>(maxCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var recorded = EventStore.ReadEvent(reader, types, tolerateUnknownTypes: true);
            events.Add(new PositionedEvent(recorded, new EventPosition(reader.GetFieldValue<ulong>(8), recorded.Sequence)));
        }
        return events;
    }
}
