using System.Text.Json.Serialization;
using Chapter.Domain.Members;
using Chapter.Domain.Referrals;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Npgsql;

namespace Chapter.Projections.Members;

public sealed record MemberView(
    Guid Id, string ChapterId, string Name, string Profession, IReadOnlyList<string> Languages, MemberRole Role,
    string Status, DateTimeOffset JoinedAt, DateTimeOffset? LeftAt, long Version)
{
    [JsonIgnore]
    public bool Active => Status == MemberProjection.Active;

    /// <summary>What a decider needs to know of this member.</summary>
    [JsonIgnore]
    public MemberStanding Standing => new(Id, ChapterId, Active);
}

public sealed class MemberProjection : IProjection
{
    public const string Active = "active";
    public const string Left = "left";

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case MemberJoined j:
                    operations.Sql(
                        """
                        INSERT INTO member_view (id, chapter_id, name, profession, languages, role, status, joined_at, version)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                        """, j.MemberId, j.ChapterId, j.Name, j.Profession, j.Languages.ToArray(), RoleName(j.Role), Active, j.JoinedAt, e.Version);
                    break;
                case MemberDetailsChanged c:
                    operations.Sql("UPDATE member_view SET name = $2, profession = $3, languages = $4, role = $5, version = $6 WHERE id = $1",
                        c.MemberId, c.Name, c.Profession, c.Languages.ToArray(), RoleName(c.Role), e.Version);
                    break;
                case MemberLeft l:
                    operations.Sql("UPDATE member_view SET status = $2, left_at = $3, version = $4 WHERE id = $1",
                        l.MemberId, Left, l.LeftAt, e.Version);
                    break;
            }
        }
        return Task.CompletedTask;
    }

    public static string RoleName(MemberRole role) => role == MemberRole.Leader ? "leader" : "member";

    private const string Columns = "id, chapter_id, name, profession, languages, role, status, joined_at, left_at, version";

    public static async Task<MemberView?> GetAsync(NpgsqlDataSource db, string chapterId, Guid memberId, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM member_view WHERE chapter_id = $1 AND id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = memberId });
        return (await ReadAsync(command, ct)).SingleOrDefault();
    }

    /// <summary>The chapter's members among <paramref name="memberIds"/>, in one round trip; missing ones are left out.</summary>
    public static async Task<IReadOnlyList<MemberView>> GetManyAsync(NpgsqlDataSource db, string chapterId, Guid[] memberIds, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM member_view WHERE chapter_id = $1 AND id = ANY($2)");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = memberIds });
        return await ReadAsync(command, ct);
    }

    /// <summary>A page of the chapter's members, in the order they joined.</summary>
    public static async Task<(IReadOnlyList<MemberView> Items, string? Next)> ListAsync(NpgsqlDataSource db, string chapterId, PageRequest page, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"""
            SELECT {Columns} FROM member_view
            WHERE chapter_id = $1 AND ($2::timestamptz IS NULL OR (joined_at, id) > ($2, $3::uuid))
            ORDER BY joined_at, id LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterAt, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterId, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.RowsToRead });
        return page.Cut(await ReadAsync(command, ct), m => new PageCursor(m.JoinedAt, m.Id));
    }

    private static async Task<IReadOnlyList<MemberView>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var members = new List<MemberView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            members.Add(new MemberView(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<string[]>(4), reader.GetString(5) == "leader" ? MemberRole.Leader : MemberRole.Member,
                reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7),
                reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8), reader.GetInt64(9)));
        }
        return members;
    }
}
