using Chapter.Domain.Chapters;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Npgsql;

namespace Chapter.Projections.Chapters;

/// <param name="TieHalfLifeDays">How fast a relationship's strength halves without new interactions.</param>
public sealed record ChapterView(string Id, string Name, string TimeZone, string Currency, int TieHalfLifeDays, DateTimeOffset CreatedAt);

public sealed class ChapterProjection : IProjection
{
    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        foreach (var e in events)
        {
            if (e.Data is ContactSpheresSet set)
                operations.Sql("UPDATE chapter_view SET contact_spheres = $2::jsonb WHERE id = $1", set.ChapterId,
                    System.Text.Json.JsonSerializer.Serialize(set.Spheres, ChapterEventTypes.SerializerOptions));
            if (e.Data is ChapterCreated c)
                operations.Sql("INSERT INTO chapter_view (id, name, time_zone, currency, tie_half_life_days, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    c.ChapterId, c.Name, c.TimeZone, c.Currency, c.TieHalfLifeDays ?? ChapterCreated.DefaultTieHalfLifeDays, c.CreatedAt);
        }
        return Task.CompletedTask;
    }

    public static async Task<ChapterView?> GetAsync(NpgsqlDataSource db, string chapterId, CancellationToken ct)
    {
        await using var command = db.CreateCommand("SELECT id, name, time_zone, currency, tie_half_life_days, created_at FROM chapter_view WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new ChapterView(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5))
            : null;
    }

    public static async Task<IReadOnlyList<ContactSphere>> SpheresAsync(NpgsqlDataSource db, string chapterId, CancellationToken ct)
    {
        await using var command = db.CreateCommand("SELECT contact_spheres::text FROM chapter_view WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        return await command.ExecuteScalarAsync(ct) is string json
            ? System.Text.Json.JsonSerializer.Deserialize<List<ContactSphere>>(json, ChapterEventTypes.SerializerOptions) ?? []
            : [];
    }
}
