using Chapter.Api.Infrastructure;
using System.Security.Cryptography;
using Chapter.Projections;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Api.Notifications;

/// <summary>The kinds of e-mail a member can turn on and off, as they appear in links and settings.</summary>
public enum NoticeKind { ReferralReceived, ReferralUpdates, WeeklyDigest }

/// <param name="Email">Where to write; null: no e-mail at all.</param>
public sealed record NotificationChoices(string? Email, bool ReferralReceived, bool ReferralUpdates, bool WeeklyDigest)
{
    /// <summary>What a member who never chose gets: every kind, once they give an address.</summary>
    public static NotificationChoices Default { get; } = new(null, true, true, true);

    public bool Wants(NoticeKind kind) => Email is not null && kind switch
    {
        NoticeKind.ReferralReceived => ReferralReceived,
        NoticeKind.ReferralUpdates => ReferralUpdates,
        _ => WeeklyDigest,
    };
}

/// <summary>A member's choices, with the key their e-mails' "turn this off" links carry.</summary>
public sealed record MemberNotifications(string ChapterId, Guid MemberId, NotificationChoices Choices, string TurnOffKey);

/// <summary>Each member's notification choices, in <c>notification_settings</c>.</summary>
public static class NotificationSettings
{
    /// <summary>
    /// What each member wants to hear about, and where. A member's e-mail address is personal data and a setting, not a domain
    /// fact, so it lives here rather than in the log, and is gone for good when changed or cleared. turn_off_key is the secret
    /// in every e-mail's "turn this off" link: it only turns notifications off. weekly_digests holds the weeks whose digest was
    /// handed to the outbox, one row per chapter and ISO week, so that however many nodes look, each is queued once.
    /// </summary>
    public static IEnumerable<Weasel.Postgresql.Tables.Table> Tables()
    {
        var settings = ReadModelSchema.NewTable("notification_settings");
        settings.AddColumn("chapter_id", "text").AsPrimaryKey();
        settings.AddColumn("member_id", "uuid").AsPrimaryKey();
        settings.AddColumn("email", "text");
        settings.AddColumn("referral_received", "boolean").NotNull().DefaultValueByExpression("true");
        settings.AddColumn("referral_updates", "boolean").NotNull().DefaultValueByExpression("true");
        settings.AddColumn("weekly_digest", "boolean").NotNull().DefaultValueByExpression("true");
        settings.AddColumn("turn_off_key", "text").NotNull();
        settings.AddColumn("updated_at", "timestamp with time zone").NotNull().DefaultValueByExpression("now()");
        settings.Indexes.Add(new Weasel.Postgresql.Tables.IndexDefinition("notification_settings_turn_off_key_key") { Columns = ["turn_off_key"], IsUnique = true });
        yield return settings;

        var digests = ReadModelSchema.NewTable("weekly_digests");
        digests.AddColumn("chapter_id", "text").AsPrimaryKey();
        digests.AddColumn("iso_week", "text").AsPrimaryKey();
        digests.AddColumn("queued_at", "timestamp with time zone").NotNull().DefaultValueByExpression("now()");
        yield return digests;
    }

    private const string Columns = "chapter_id, member_id, email, referral_received, referral_updates, weekly_digest, turn_off_key";

    public static string KindName(NoticeKind kind) => kind switch
    {
        NoticeKind.ReferralReceived => "referral-received",
        NoticeKind.ReferralUpdates => "referral-updates",
        _ => "weekly-digest",
    };

    public static NoticeKind? KindNamed(string name) => Enum.GetValues<NoticeKind>().Cast<NoticeKind?>().FirstOrDefault(k => KindName(k!.Value) == name);

    /// <summary>The member's choices; null when they never chose (then they have given no address, and get no e-mail).</summary>
    public static async Task<MemberNotifications?> GetAsync(ChapterDatabase db, string chapterId, Guid memberId, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM notification_settings WHERE chapter_id = $1 AND member_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = memberId });
        return (await ReadAsync(command, ct)).SingleOrDefault();
    }

    /// <summary>The chapter's active leaders who want the weekly digest and gave an address.</summary>
    public static async Task<IReadOnlyList<Guid>> DigestRecipientsAsync(ChapterDatabase db, string chapterId, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT m.id FROM member_view m JOIN notification_settings n ON n.chapter_id = m.chapter_id AND n.member_id = m.id
            WHERE m.chapter_id = $1 AND m.role = 'leader' AND m.status = 'active' AND n.weekly_digest AND n.email IS NOT NULL
            ORDER BY m.joined_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        var leaders = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            leaders.Add(reader.GetGuid(0));
        return leaders;
    }

    public static async Task<MemberNotifications> SetAsync(ChapterDatabase db, string chapterId, Guid memberId, NotificationChoices choices, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"""
             INSERT INTO notification_settings (chapter_id, member_id, email, referral_received, referral_updates, weekly_digest, turn_off_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (chapter_id, member_id) DO UPDATE SET email = EXCLUDED.email, referral_received = EXCLUDED.referral_received,
                 referral_updates = EXCLUDED.referral_updates, weekly_digest = EXCLUDED.weekly_digest, updated_at = now()
             RETURNING {Columns}
             """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = memberId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)choices.Email ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = choices.ReferralReceived });
        command.Parameters.Add(new NpgsqlParameter { Value = choices.ReferralUpdates });
        command.Parameters.Add(new NpgsqlParameter { Value = choices.WeeklyDigest });
        command.Parameters.Add(new NpgsqlParameter { Value = NewKey() });
        return (await ReadAsync(command, ct)).Single();
    }

    /// <summary>Turns one kind off for whoever holds this link's key; false when no member has it.</summary>
    public static async Task<bool> TurnOffAsync(ChapterDatabase db, string turnOffKey, NoticeKind kind, CancellationToken ct)
    {
        var column = kind switch
        {
            NoticeKind.ReferralReceived => "referral_received",
            NoticeKind.ReferralUpdates => "referral_updates",
            _ => "weekly_digest",
        };
        await using var command = db.CreateCommand($"UPDATE notification_settings SET {column} = false, updated_at = now() WHERE turn_off_key = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = turnOffKey });
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    private static string NewKey() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(24));

    private static async Task<List<MemberNotifications>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var found = new List<MemberNotifications>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            found.Add(new MemberNotifications(reader.GetString(0), reader.GetGuid(1),
                new NotificationChoices(reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3), reader.GetBoolean(4), reader.GetBoolean(5)),
                reader.GetString(6)));
        return found;
    }
}
