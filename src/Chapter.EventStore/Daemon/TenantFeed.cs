using Npgsql;
using NpgsqlTypes;

namespace Chapter.EventStore.Daemon;

/// <summary>An event as stored, for readers outside the process: the payload stays JSON.</summary>
public sealed record FeedEvent(EventPosition Position, string StreamId, long Version, string Type, string Data, DateTimeOffset Timestamp);

/// <summary>
/// One tenant's events for pollers outside the process, under the daemon's rule: only events whose transaction
/// is older than every running one, in (transaction id, sequence) order, so a poller that resumes after the last
/// position it saw never misses an event that committed late.
/// </summary>
public sealed class TenantFeed(NpgsqlDataSource dataSource)
{
    public async Task<IReadOnlyList<FeedEvent>> ReadAsync(string tenantId, EventPosition after, int maxCount, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT seq_id, stream_id, version, type, data::text, timestamp, tx_id
            FROM events
            WHERE tenant_id = $1
              AND (tx_id, seq_id) > ($2, $3)
              AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY tx_id, seq_id
            LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = after.TransactionId });
        command.Parameters.Add(new NpgsqlParameter { Value = after.Sequence });
        command.Parameters.Add(new NpgsqlParameter { Value = maxCount });

        var events = new List<FeedEvent>(maxCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            events.Add(new FeedEvent(
                new EventPosition(reader.GetFieldValue<ulong>(6), reader.GetInt64(0)),
                reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5)));
        return events;
    }
}
