using Chapter.Domain.OneToOnes;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Projections.OneToOnes;

public sealed record OneToOneView(Guid Id, Guid MemberA, Guid MemberB, DateOnly Date, string? Note);

/// <summary>The one-to-ones members held, inline with their events.</summary>
public sealed class OneToOneProjection : IProjection
{
    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        foreach (var e in events)
            switch (e.Data)
            {
                case OneToOneHeld held:
                    operations.Sql(
                        """
                        INSERT INTO one_to_one_view (id, chapter_id, member_a, member_b, held_on, note, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                        ON CONFLICT (id) DO NOTHING
                        """, held.OneToOneId, held.ChapterId, held.MemberA, held.MemberB, held.Date, (object?)held.Note ?? DBNull.Value, held.RecordedAt);
                    break;
                // Withdrawn: it was recorded by mistake, so it leaves the list (the event stays in the log).
                case OneToOneWithdrawn withdrawn:
                    operations.Sql("DELETE FROM one_to_one_view WHERE id = $1", withdrawn.OneToOneId);
                    break;
            }
        return Task.CompletedTask;
    }

    /// <summary>A page of the chapter's one-to-ones, the latest held first; optionally those a member took part in.</summary>
    public static async Task<(IReadOnlyList<OneToOneView> Items, string? Next)> ListAsync(NpgsqlDataSource db, string chapterId, Guid? memberId, PageRequest page,
        CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT id, member_a, member_b, held_on, note FROM one_to_one_view
            WHERE chapter_id = $1 AND ($2::uuid IS NULL OR member_a = $2 OR member_b = $2)
              AND ($3::date IS NULL OR held_on < $3 OR (held_on = $3 AND id > $4::uuid))
            ORDER BY held_on DESC, id LIMIT $5
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)memberId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.After is { } after ? DateOnly.FromDateTime(after.At.UtcDateTime) : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.RowsToRead });
        var rows = new List<OneToOneView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new OneToOneView(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateOnly>(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        return page.Cut(rows, o => new PageCursor(new DateTimeOffset(o.Date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), o.Id));
    }
}
