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
                case MemberProfileChanged p:
                    operations.Sql(
                        """
                        INSERT INTO member_profile_view (member_id, chapter_id, ask, ideal_referral, goals, accomplishments, interests, networks, skills, changed_at)
                        SELECT $1, chapter_id, $2, $3, $4, $5, $6, $7, $8, $9 FROM member_view WHERE id = $1
                        ON CONFLICT (member_id) DO UPDATE SET ask = EXCLUDED.ask, ideal_referral = EXCLUDED.ideal_referral, goals = EXCLUDED.goals,
                            accomplishments = EXCLUDED.accomplishments, interests = EXCLUDED.interests, networks = EXCLUDED.networks,
                            skills = EXCLUDED.skills, changed_at = EXCLUDED.changed_at
                        """, p.MemberId, Text(p.Profile.Ask), Text(p.Profile.IdealReferral), Text(p.Profile.Goals), Text(p.Profile.Accomplishments),
                        Text(p.Profile.Interests), Text(p.Profile.Networks), Text(p.Profile.Skills), p.ChangedAt);
                    break;
                case MemberPersonalDataErased erased:
                    operations.Sql("UPDATE member_view SET name = $2, profession = '', languages = '{}', version = $3 WHERE id = $1",
                        erased.MemberId, MemberPersonalDataErased.FormerMember, e.Version);
                    operations.Sql("DELETE FROM member_profile_view WHERE member_id = $1", erased.MemberId);
                    break;
                case MemberLeft l:
                    operations.Sql("UPDATE member_view SET status = $2, left_at = $3, version = $4 WHERE id = $1",
                        l.MemberId, Left, l.LeftAt, e.Version);
                    break;
            }
        }
        return Task.CompletedTask;
    }

    private static object Text(string? value) => (object?)value ?? DBNull.Value;

    /// <param name="ChangedAt">When the member last changed it; null when they never wrote one.</param>
    public sealed record ProfileView(Guid MemberId, string? Ask, string? IdealReferral, string? Goals, string? Accomplishments, string? Interests,
        string? Networks, string? Skills, DateTimeOffset? ChangedAt);

    /// <summary>An active member's current ask, for the meeting and for the give page.</summary>
    public sealed record AskView(Guid MemberId, string Name, string Profession, string Ask, string? IdealReferral, DateTimeOffset ChangedAt);

    public static async Task<ProfileView> ProfileAsync(NpgsqlDataSource db, Guid memberId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "SELECT ask, ideal_referral, goals, accomplishments, interests, networks, skills, changed_at FROM member_profile_view WHERE member_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = memberId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
            return new ProfileView(memberId, null, null, null, null, null, null, null, null);
        string? At(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        return new ProfileView(memberId, At(0), At(1), At(2), At(3), At(4), At(5), At(6), reader.GetFieldValue<DateTimeOffset>(7));
    }

    public static async Task<IReadOnlyList<AskView>> AsksAsync(NpgsqlDataSource db, string chapterId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT m.id, m.name, m.profession, p.ask, p.ideal_referral, p.changed_at
            FROM member_profile_view p JOIN member_view m ON m.id = p.member_id
            WHERE p.chapter_id = $1 AND p.ask IS NOT NULL AND m.status = 'active'
            ORDER BY p.changed_at DESC, m.id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        var asks = new List<AskView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            asks.Add(new AskView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5)));
        return asks;
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
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(GetManyCommand(chapterId, memberIds));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        return await ReadAllAsync(reader, ct);
    }

    /// <summary><see cref="GetManyAsync"/> as a statement of a batch; read its result with <see cref="ReadAllAsync"/>.</summary>
    public static NpgsqlBatchCommand GetManyCommand(string chapterId, Guid[] memberIds) =>
        new($"SELECT {Columns} FROM member_view WHERE chapter_id = $1 AND id = ANY($2)")
        {
            Parameters = { new NpgsqlParameter { Value = chapterId }, new NpgsqlParameter { Value = memberIds } },
        };

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
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await ReadAllAsync(reader, ct);
    }

    /// <summary>The members of the reader's current result, which selected <see cref="Columns"/>.</summary>
    public static async Task<IReadOnlyList<MemberView>> ReadAllAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var members = new List<MemberView>();
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
