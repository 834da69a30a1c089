using System.Text.Json;
using Chapter.Domain.Meetings;
using Chapter.Projections.Prospects;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Projections.Meetings;

/// <param name="Name">The substitute's name; "erased" once erased; left out for readers who may not see it.</param>
public sealed record SubstituteView(string? Name, string? Profession);

/// <param name="Status">present | absent | late | medical | substitute; null while not marked.</param>
/// <param name="Corrections">How many times the mark was changed after it was first made.</param>
public sealed record AttendanceView(Guid MemberId, string Name, string? Status, SubstituteView? Substitute, int Corrections, DateTimeOffset? MarkedAt);

public sealed record AttendanceCounts(int Present, int Absent, int Late, int Medical, int Substitute, int Unmarked);

public sealed record MeetingSummary(Guid Id, DateOnly Date, string Status, DateTimeOffset OpenedAt, DateTimeOffset? ClosedAt);

/// <param name="Attendance">Every active member (and anyone marked who has left since), by name.</param>
public sealed record MeetingView(Guid Id, string ChapterId, DateOnly Date, string Status, DateTimeOffset OpenedAt, DateTimeOffset? ClosedAt,
    IReadOnlyList<AttendanceView> Attendance, AttendanceCounts Counts, long Version);

public sealed class MeetingProjection : IProjection
{
    public static string Name(Attendance status) => JsonNamingPolicy.CamelCase.ConvertName(status.ToString());

    /// <summary>The key that seals a substitute's name: one per meeting and member, in the prospects' key store.</summary>
    public static Guid SubstituteKeyId(Guid meetingId, Guid memberId)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"substitute:{meetingId}:{memberId}"));
        return new Guid(hash.AsSpan(0, 16));
    }

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case MeetingOpened o:
                    operations.Sql("INSERT INTO meeting_view (id, chapter_id, held_on, status, opened_at, version) VALUES ($1, $2, $3, 'open', $4, $5)",
                        o.MeetingId, o.ChapterId, o.Date, o.OpenedAt, e.Version);
                    break;
                case AttendanceMarked m:
                    operations.Sql(
                        """
                        INSERT INTO meeting_attendance (meeting_id, member_id, status, substitute_sealed, substitute_profession, marked_at)
                        VALUES ($1, $2, $3, $4::text, $5::text, $6)
                        ON CONFLICT (meeting_id, member_id) DO UPDATE SET status = EXCLUDED.status, substitute_sealed = EXCLUDED.substitute_sealed,
                            substitute_profession = EXCLUDED.substitute_profession, marked_at = EXCLUDED.marked_at,
                            corrections = meeting_attendance.corrections + 1
                        """, m.MeetingId, m.MemberId, Name(m.Status), (object?)m.SealedSubstitute ?? DBNull.Value, (object?)m.SubstituteProfession ?? DBNull.Value,
                        m.MarkedAt);
                    operations.Sql("UPDATE meeting_view SET version = $2 WHERE id = $1", m.MeetingId, e.Version);
                    break;
                case MeetingClosed c:
                    operations.Sql("UPDATE meeting_view SET status = 'closed', closed_at = $2, version = $3 WHERE id = $1", c.MeetingId, c.ClosedAt, e.Version);
                    break;
            }
        }
        return Task.CompletedTask;
    }

    public static async Task<IReadOnlyList<MeetingSummary>> ListAsync(NpgsqlDataSource db, string chapterId, DateOnly? from, DateOnly? to, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT id, held_on, status, opened_at, closed_at FROM meeting_view
            WHERE chapter_id = $1 AND ($2::date IS NULL OR held_on >= $2) AND ($3::date IS NULL OR held_on <= $3)
            ORDER BY held_on DESC LIMIT 500
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)from ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)to ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
        var found = new List<MeetingSummary>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            found.Add(new MeetingSummary(reader.GetGuid(0), reader.GetFieldValue<DateOnly>(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4)));
        return found;
    }

    /// <summary>The meeting with every member's mark; substitutes' names opened only when <paramref name="showSubstitutes"/>.</summary>
    public static async Task<MeetingView?> GetAsync(NpgsqlDataSource db, string chapterId, Guid meetingId, bool showSubstitutes, CancellationToken ct)
    {
        MeetingSummary? meeting;
        long version;
        await using (var head = db.CreateCommand("SELECT id, held_on, status, opened_at, closed_at, version FROM meeting_view WHERE chapter_id = $1 AND id = $2"))
        {
            head.Parameters.Add(new NpgsqlParameter { Value = chapterId });
            head.Parameters.Add(new NpgsqlParameter { Value = meetingId });
            await using var reader = await head.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
                return null;
            meeting = new MeetingSummary(reader.GetGuid(0), reader.GetFieldValue<DateOnly>(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4));
            version = reader.GetInt64(5);
        }
        var rows = new List<(Guid Member, string Name, string? Status, string? Sealed, string? Profession, int Corrections, DateTimeOffset? MarkedAt)>();
        await using (var marks = db.CreateCommand(
                         """
                         SELECT m.id, m.name, a.status, a.substitute_sealed, a.substitute_profession, coalesce(a.corrections, 0), a.marked_at
                         FROM member_view m LEFT JOIN meeting_attendance a ON a.meeting_id = $2 AND a.member_id = m.id
                         WHERE m.chapter_id = $1 AND (m.status = 'active' OR a.member_id IS NOT NULL)
                         ORDER BY m.name, m.id
                         """))
        {
            marks.Parameters.Add(new NpgsqlParameter { Value = chapterId });
            marks.Parameters.Add(new NpgsqlParameter { Value = meetingId });
            await using var reader = await marks.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                rows.Add((reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6)));
        }
        var keys = showSubstitutes
            ? await ProspectKeys.FindAsync(db, rows.Where(r => r.Status == "substitute").Select(r => SubstituteKeyId(meetingId, r.Member)).ToList(), ct)
            : new Dictionary<Guid, byte[]>();
        string? SubstituteName(Guid member, string? sealedName)
        {
            if (!showSubstitutes)
                return null;
            var keyId = SubstituteKeyId(meetingId, member);
            return sealedName is not null && keys.TryGetValue(keyId, out var key) && ProspectSeal.Open(key, keyId, sealedName) is { } contact
                ? contact.Name
                : Referrals.ProspectDetails.ErasedText;
        }
        var attendance = rows.Select(r => new AttendanceView(r.Member, r.Name, r.Status,
            r.Status == "substitute" ? new SubstituteView(SubstituteName(r.Member, r.Sealed), r.Profession) : null, r.Corrections, r.MarkedAt)).ToList();
        int Count(string status) => attendance.Count(a => a.Status == status);
        var counts = new AttendanceCounts(Count("present"), Count("absent"), Count("late"), Count("medical"), Count("substitute"),
            attendance.Count(a => a.Status is null));
        return new MeetingView(meeting.Id, chapterId, meeting.Date, meeting.Status, meeting.OpenedAt, meeting.ClosedAt, attendance, counts, version);
    }

    /// <summary>Every mark of the chapter's meetings, for the weekly report.</summary>
    public static async Task<IReadOnlyList<Activity.AttendanceFact>> AttendanceFactsAsync(NpgsqlDataSource db, string chapterId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "SELECT m.id, m.held_on, a.member_id, a.status FROM meeting_attendance a JOIN meeting_view m ON m.id = a.meeting_id WHERE m.chapter_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        var facts = new List<Activity.AttendanceFact>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            facts.Add(new Activity.AttendanceFact(reader.GetGuid(0), reader.GetFieldValue<DateOnly>(1), reader.GetGuid(2), reader.GetString(3)));
        return facts;
    }
}
