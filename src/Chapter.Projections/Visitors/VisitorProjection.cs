using System.Text.Json;
using Chapter.Domain.Visitors;
using Chapter.Projections.Prospects;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Projections.Visitors;

/// <param name="Step">thanked | applied | joined | notInterested.</param>
public sealed record FollowUpView(string Step, string? Note, DateTimeOffset At);

/// <param name="Name">The visitor's name, or "erased"; <paramref name="Email"/> and <paramref name="Phone"/> only with their consent.</param>
public sealed record VisitorView(Guid Id, string Name, string Profession, string? Company, string? Email, string? Phone, Guid InvitedBy, Guid? MeetingId,
    bool Consent, DateTimeOffset RegisteredAt, IReadOnlyList<FollowUpView> FollowUp, Guid? MemberId, bool Erased, long Version);

public sealed class VisitorProjection : IProjection
{
    private static string Name(FollowUpStep step) => JsonNamingPolicy.CamelCase.ConvertName(step.ToString());

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case VisitorRegistered r:
                    operations.Sql(
                        """
                        INSERT INTO visitor_view (id, chapter_id, sealed_details, profession, invited_by, meeting_id, consent, registered_at, version)
                        VALUES ($1, $2, $3, $4, $5, $6::uuid, $7, $8, $9)
                        """, r.VisitorId, r.ChapterId, r.SealedDetails, r.Profession, r.InvitedBy, (object?)r.MeetingId ?? DBNull.Value, r.Consent, r.RegisteredAt, e.Version);
                    break;
                case VisitorFollowedUp f:
                    operations.Sql(
                        "UPDATE visitor_view SET steps = steps || $2::jsonb, member_id = coalesce($3::uuid, member_id), version = $4 WHERE id = $1",
                        f.VisitorId, JsonSerializer.Serialize(new[] { new FollowUpView(Name(f.Step), f.Note, f.FollowedUpAt) }, ChapterEventTypes.SerializerOptions),
                        (object?)f.MemberId ?? DBNull.Value, e.Version);
                    break;
            }
        }
        return Task.CompletedTask;
    }

    private const string Columns =
        "v.id, v.sealed_details, v.profession, v.invited_by, v.meeting_id, v.consent, v.registered_at, v.steps::text, v.member_id, v.version, k.key " +
        "FROM visitor_view v LEFT JOIN prospect_keys k ON k.referral_id = v.id";

    public static async Task<VisitorView?> GetAsync(NpgsqlDataSource db, string chapterId, Guid visitorId, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} WHERE v.chapter_id = $1 AND v.id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = visitorId });
        return (await ReadAsync(command, ct)).SingleOrDefault();
    }

    /// <summary>The chapter's visitors, newest first: at a meeting, invited by a member, or all.</summary>
    public static async Task<IReadOnlyList<VisitorView>> ListAsync(NpgsqlDataSource db, string chapterId, Guid? meetingId, Guid? invitedBy, CancellationToken ct,
        int limit = 500)
    {
        await using var command = db.CreateCommand(
            $"SELECT {Columns} WHERE v.chapter_id = $1 AND ($2::uuid IS NULL OR v.meeting_id = $2) AND ($3::uuid IS NULL OR v.invited_by = $3) ORDER BY v.registered_at DESC LIMIT $4");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)meetingId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)invitedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        return await ReadAsync(command, ct);
    }

    private static async Task<List<VisitorView>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var found = new List<VisitorView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetGuid(0);
            var contact = reader.IsDBNull(10) ? null : ProspectSeal.Open(reader.GetFieldValue<byte[]>(10), id, reader.GetString(1));
            var consent = reader.GetBoolean(5);
            var steps = JsonSerializer.Deserialize<List<FollowUpView>>(reader.GetString(7), ChapterEventTypes.SerializerOptions) ?? [];
            found.Add(new VisitorView(id, contact?.Name ?? Referrals.ProspectDetails.ErasedText, reader.GetString(2), contact?.Company,
                consent ? contact?.Email : null, consent ? contact?.Phone : null, reader.GetGuid(3), reader.IsDBNull(4) ? null : reader.GetGuid(4), consent,
                reader.GetFieldValue<DateTimeOffset>(6), steps, reader.IsDBNull(8) ? null : reader.GetGuid(8), contact is null, reader.GetInt64(9)));
        }
        return found;
    }

    /// <summary>The chapter's visitors without names or contacts, for the weekly report.</summary>
    public static async Task<IReadOnlyList<Activity.VisitorFact>> FactsAsync(NpgsqlDataSource db, string chapterId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "SELECT id, profession, invited_by, registered_at, (SELECT min((s->>'at')::timestamptz) FROM jsonb_array_elements(steps) s) FROM visitor_view WHERE chapter_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        var facts = new List<Activity.VisitorFact>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            facts.Add(new Activity.VisitorFact(reader.GetGuid(0), reader.GetString(1), reader.GetGuid(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4)));
        return facts;
    }
}
