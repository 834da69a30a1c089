using Npgsql;

namespace Chapter.Testing;

/// <summary>
/// Writes an event row into Marten's tables by hand, as no code of this version would: a poison payload, a type only a
/// newer version knows, or an append held open in a transaction the test controls.
/// </summary>
public static class RawEvents
{
    /// <returns>The event's sequence number.</returns>
    public static async Task<long> InsertAsync(NpgsqlConnection connection, string streamId, string tenant, string type, string data,
        string? dotnetType = null, NpgsqlTransaction? transaction = null)
    {
        await using (var stream = new NpgsqlCommand("INSERT INTO mt_streams (id, version, tenant_id) VALUES ($1, 1, $2)", connection, transaction))
        {
            stream.Parameters.Add(new NpgsqlParameter { Value = streamId });
            stream.Parameters.Add(new NpgsqlParameter { Value = tenant });
            await stream.ExecuteNonQueryAsync();
        }
        await using var append = new NpgsqlCommand(
            """
            INSERT INTO mt_events (seq_id, id, stream_id, version, data, type, tenant_id, timestamp, mt_dotnet_type)
            VALUES (nextval('mt_events_sequence'), gen_random_uuid(), $1, 1, $2::jsonb, $3, $4, now(), $5)
            RETURNING seq_id
            """, connection, transaction);
        foreach (var value in new object?[] { streamId, data, type, tenant, dotnetType })
            append.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return (long)(await append.ExecuteScalarAsync())!;
    }

    public static async Task<long> InsertAsync(string connectionString, string streamId, string tenant, string type, string data, string? dotnetType = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return await InsertAsync(connection, streamId, tenant, type, data, dotnetType);
    }
}
