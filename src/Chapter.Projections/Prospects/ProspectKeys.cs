using Marten;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Projections.Prospects;

/// <summary>
/// One key per referral, kept outside the append-only log. Erasing a prospect destroys the key and leaves a
/// tombstone, so every sealed copy (in events, read models, rebuilds, feeds) stays unreadable for good.
/// </summary>
public static class ProspectKeys
{
    /// <summary>The referral's key, created on first use; null once its prospect was erased.</summary>
    public static async Task<byte[]?> GetOrCreateAsync(NpgsqlDataSource db, string chapterId, Guid referralId, CancellationToken ct)
    {
        // Two tries: a concurrent first use commits its key after this statement's snapshot was taken,
        // so the first try can see neither its own insert nor the other's row.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            await using var batch = db.CreateBatch();
            batch.BatchCommands.Add(GetOrCreateCommand(chapterId, referralId));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            if (await ReadKeyAsync(reader, ct) is { } found)
                return found.Key;
        }
        throw new InvalidOperationException($"No prospect key could be created or found for referral {referralId}.");
    }

    /// <summary>One try of <see cref="GetOrCreateAsync"/> as a statement of a batch; read its result with <see cref="ReadKeyAsync"/>.</summary>
    public static NpgsqlBatchCommand GetOrCreateCommand(string chapterId, Guid referralId) =>
        new("""
            WITH created AS (
                INSERT INTO prospect_keys (referral_id, chapter_id, key) VALUES ($1, $2, $3)
                ON CONFLICT (referral_id) DO NOTHING
                RETURNING key, erased_at)
            SELECT key, erased_at FROM created
            UNION ALL
            SELECT key, erased_at FROM prospect_keys WHERE referral_id = $1
            """)
        {
            Parameters =
            {
                new NpgsqlParameter { Value = referralId },
                new NpgsqlParameter { Value = chapterId },
                new NpgsqlParameter { Value = ProspectSeal.NewKey() },
            },
        };

    /// <summary>The key a <see cref="GetOrCreateCommand"/> found or made (null inside once erased); null when that try saw no row, and must be tried again.</summary>
    public static async Task<FoundKey?> ReadKeyAsync(NpgsqlDataReader reader, CancellationToken ct) =>
        await reader.ReadAsync(ct) ? new FoundKey(reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0)) : null;

    public sealed record FoundKey(byte[]? Key);

    /// <summary>Destroys the key for good (idempotent); a tombstone stays so no new key is ever made for this referral.</summary>
    public static async Task DestroyAsync(NpgsqlDataSource db, string chapterId, Guid referralId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            INSERT INTO prospect_keys (referral_id, chapter_id, key, erased_at) VALUES ($1, $2, NULL, now())
            ON CONFLICT (referral_id) DO UPDATE SET key = NULL, erased_at = coalesce(prospect_keys.erased_at, now())
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = referralId });
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>As <see cref="DestroyAsync"/>, in the transaction of a session: with the event that records the erasure.</summary>
    public static void Destroy(IDocumentOperations session, string chapterId, Guid referralId) =>
        session.Sql(
            """
            INSERT INTO prospect_keys (referral_id, chapter_id, key, erased_at) VALUES ($1, $2, NULL, now())
            ON CONFLICT (referral_id) DO UPDATE SET key = NULL, erased_at = coalesce(prospect_keys.erased_at, now())
            """, referralId, chapterId);

    /// <summary>The keys of these referrals that still exist.</summary>
    public static async Task<IReadOnlyDictionary<Guid, byte[]>> FindAsync(NpgsqlDataSource db, IReadOnlyCollection<Guid> referralIds, CancellationToken ct)
    {
        var keys = new Dictionary<Guid, byte[]>();
        if (referralIds.Count == 0)
            return keys;
        await using var command = db.CreateCommand("SELECT referral_id, key FROM prospect_keys WHERE referral_id = ANY($1) AND key IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = referralIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            keys[reader.GetGuid(0)] = reader.GetFieldValue<byte[]>(1);
        return keys;
    }
}
