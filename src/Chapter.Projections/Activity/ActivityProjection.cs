using System.Text.Json;
using Chapter.Domain.Chapters;
using Chapter.Domain.Members;
using Chapter.Domain.OneToOnes;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.EventStore;
using Chapter.EventStore.Daemon;
using Npgsql;

namespace Chapter.Projections.Activity;

/// <summary>
/// Async projection of the facts behind relationships, giving profiles, circulation and weekly reports.
/// It keeps no prospect data: who the prospect was does not matter to how help circulates.
/// </summary>
public sealed class ActivityProjection : IAsyncProjection
{
    public const string ProjectionName = "activity";
    public const string Schema = "proj_activity";

    public string Name => ProjectionName;

    public string SchemaSql =>
        """
        CREATE TABLE chapters (id text PRIMARY KEY, time_zone text NOT NULL, currency text NOT NULL, tie_half_life_days int NOT NULL);
        CREATE TABLE members (id uuid PRIMARY KEY, chapter_id text NOT NULL, name text NOT NULL, joined_at timestamptz NOT NULL, left_at timestamptz);
        CREATE INDEX members_chapter ON members (chapter_id);
        CREATE TABLE referrals (
            id uuid PRIMARY KEY, chapter_id text NOT NULL, giver_id uuid NOT NULL, receiver_id uuid NOT NULL, given_at timestamptz NOT NULL,
            accepted_at timestamptz, declined_at timestamptz, closed_at timestamptz, outcome text, value_amount numeric, value_currency text,
            thanked_at timestamptz);
        CREATE INDEX referrals_chapter ON referrals (chapter_id, given_at);
        CREATE TABLE one_to_ones (id uuid PRIMARY KEY, chapter_id text NOT NULL, member_a uuid NOT NULL, member_b uuid NOT NULL, held_on date NOT NULL);
        CREATE INDEX one_to_ones_chapter ON one_to_ones (chapter_id, held_on);
        """;

    public async Task ApplyAsync(NpgsqlConnection connection, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case ChapterCreated c:
                    batch.Add("INSERT INTO chapters VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                        c.ChapterId, c.TimeZone, c.Currency, c.TieHalfLifeDays ?? ChapterCreated.DefaultTieHalfLifeDays);
                    break;
                case MemberJoined j:
                    batch.Add("INSERT INTO members VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (id) DO NOTHING", j.MemberId, j.ChapterId, j.Name, j.JoinedAt);
                    break;
                case MemberLeft l:
                    batch.Add("UPDATE members SET left_at = $2 WHERE id = $1", l.MemberId, l.LeftAt);
                    break;
                case ReferralGiven g:
                    batch.Add("INSERT INTO referrals (id, chapter_id, giver_id, receiver_id, given_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                        g.ReferralId, g.ChapterId, g.GiverId, g.ReceiverId, g.GivenAt);
                    break;
                case ReferralAccepted a:
                    batch.Add("UPDATE referrals SET accepted_at = $2 WHERE id = $1", a.ReferralId, a.AcceptedAt);
                    break;
                case ReferralDeclined d:
                    batch.Add("UPDATE referrals SET declined_at = $2 WHERE id = $1", d.ReferralId, d.DeclinedAt);
                    break;
                case ReferralClosed c:
                    batch.Add("UPDATE referrals SET closed_at = $2, outcome = $3, value_amount = $4, value_currency = $5 WHERE id = $1",
                        c.ReferralId, c.ClosedAt, JsonNamingPolicy.CamelCase.ConvertName(c.Outcome.ToString()), c.Value?.Amount, c.Value?.Currency);
                    break;
                case ReferralThanked t:
                    batch.Add("UPDATE referrals SET thanked_at = $2 WHERE id = $1", t.ReferralId, t.ThankedAt);
                    break;
                case OneToOneHeld o:
                    batch.Add("INSERT INTO one_to_ones VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING", o.OneToOneId, o.ChapterId, o.MemberA, o.MemberB, o.Date);
                    break;
            }
        }
        if (batch.BatchCommands.Count > 0)
            await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A chapter's facts, or null when the projection has not seen the chapter (yet).</summary>
    public static async Task<ChapterFacts?> LoadAsync(NpgsqlDataSource db, string chapterId, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        foreach (var sql in new[]
                 {
                     $"SELECT time_zone, currency, tie_half_life_days FROM {Schema}.chapters WHERE id = $1",
                     $"SELECT id, name, joined_at, left_at FROM {Schema}.members WHERE chapter_id = $1 ORDER BY joined_at",
                     $"""
                      SELECT id, giver_id, receiver_id, given_at, accepted_at, declined_at, closed_at, outcome, value_amount, value_currency, thanked_at
                      FROM {Schema}.referrals WHERE chapter_id = $1 ORDER BY given_at, id
                      """,
                     $"SELECT id, member_a, member_b, held_on FROM {Schema}.one_to_ones WHERE chapter_id = $1 ORDER BY held_on, id",
                 })
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
            batch.BatchCommands.Add(command);
        }

        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
            return null;
        var timeZone = TimeZoneInfo.FindSystemTimeZoneById(reader.GetString(0));
        var currency = reader.GetString(1);
        var halfLife = reader.GetInt32(2);

        await reader.NextResultAsync(ct);
        var members = new List<MemberFact>();
        while (await reader.ReadAsync(ct))
            members.Add(new MemberFact(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3)));

        await reader.NextResultAsync(ct);
        var referrals = new List<ReferralFact>();
        while (await reader.ReadAsync(ct))
        {
            DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
            referrals.Add(new ReferralFact(
                reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateTimeOffset>(3),
                At(4), At(5), At(6),
                reader.IsDBNull(7) ? null : Enum.Parse<Outcome>(reader.GetString(7), ignoreCase: true),
                reader.IsDBNull(8) ? null : new Money(reader.GetDecimal(8), reader.GetString(9)),
                At(10)));
        }

        await reader.NextResultAsync(ct);
        var oneToOnes = new List<OneToOneFact>();
        while (await reader.ReadAsync(ct))
            oneToOnes.Add(new OneToOneFact(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateOnly>(3)));

        return new ChapterFacts(chapterId, timeZone, currency, halfLife, members, referrals, oneToOnes);
    }
}

/// <summary>How fresh a read from an async projection is: the last event it applied.</summary>
public sealed record AsOf(long Position, DateTimeOffset? Timestamp)
{
    public static async Task<AsOf> OfAsync(NpgsqlDataSource db, string projection, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "SELECT p.max_seq, (SELECT e.timestamp FROM events e WHERE e.seq_id = p.max_seq) FROM projection_progress p WHERE p.name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = projection });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new AsOf(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1))
            : new AsOf(0, null);
    }
}
