using System.Text.Json;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Chapter.Projections.Prospects;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Projections.Referrals;

/// <summary>
/// The prospect as the giver, the receiver and leaders see them. Once erased, every contact field reads "erased".
/// </summary>
public sealed record ProspectDetails(bool Consent, string Name, string? Email, string? Phone, string? Company, DateTimeOffset? ErasedAt)
{
    public const string ErasedText = "erased";

    public static ProspectDetails Erased(bool consent, DateTimeOffset? erasedAt) =>
        new(consent, ErasedText, ErasedText, ErasedText, ErasedText, erasedAt);
}

/// <summary>
/// A referral as members and integrations read it. <see cref="Prospect"/> is null for readers without a reason
/// to see the prospect (integrations, other members), and then left out of the JSON. <see cref="Status"/> is the last step taken:
/// given, accepted, declined, closed or thanked (a referral thanked on acceptance and closed later reads "closed").
/// </summary>
public sealed record ReferralView(
    Guid Id,
    string ChapterId,
    Guid GiverId,
    Guid ReceiverId,
    string Status,
    string Need,
    Temperature Temperature,
    string Language,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    ProspectDetails? Prospect,
    Outcome? Outcome,
    Money? Value,
    string? DeclineReason,
    string? ThankNote,
    DateTimeOffset GivenAt,
    DateTimeOffset? AcceptedAt,
    DateTimeOffset? DeclinedAt,
    DateTimeOffset? ClosedAt,
    DateTimeOffset? ThankedAt,
    long Version,
    DateTimeOffset? IntroducedAt = null,
    DateTimeOffset? WithdrawnAt = null,
    string? WithdrawReason = null,
    DateTimeOffset? RedirectedAt = null,
    IReadOnlyList<ReferralCorrection>? Corrections = null);

/// <summary>
/// A correction as it was made: by whom, when and why, and what it set (null: left as it was). <see cref="Value"/> goes with
/// <see cref="Outcome"/>: the closing as corrected.
/// </summary>
public sealed record ReferralCorrection(DateTimeOffset CorrectedAt, Guid CorrectedBy, string Reason, Outcome? Outcome, Money? Value, string? ThankNote);

public sealed class ReferralProjection : IProjection
{
    public static readonly string[] Statuses = ["given", "accepted", "declined", "closed", "thanked", "withdrawn"];

    private static readonly JsonSerializerOptions CorrectionJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case ReferralGiven g:
                    operations.Sql(
                        """
                        INSERT INTO referral_view (id, chapter_id, giver_id, receiver_id, status, need, temperature, language,
                                                   prospect_consent, prospect_sealed, given_at, version)
                        VALUES ($1, $2, $3, $4, 'given', $5, $6, $7, $8, $9::text, $10, $11)
                        """,
                        g.ReferralId, g.ChapterId, g.GiverId, g.ReceiverId, g.Need, Name(g.Temperature), g.Language, g.ProspectConsent,
                        g.SealedProspect, g.GivenAt, e.Version);
                    break;
                case ProspectErased erased:
                    operations.Sql("UPDATE referral_view SET prospect_sealed = NULL, prospect_erased_at = $2, version = $3 WHERE id = $1",
                        erased.ReferralId, erased.ErasedAt, e.Version);
                    break;
                case ReferralAccepted a:
                    operations.Sql("UPDATE referral_view SET status = 'accepted', accepted_at = $2, version = $3 WHERE id = $1",
                        a.ReferralId, a.AcceptedAt, e.Version);
                    break;
                case ReferralDeclined d:
                    operations.Sql("UPDATE referral_view SET status = 'declined', declined_at = $2, decline_reason = $3, version = $4 WHERE id = $1",
                        d.ReferralId, d.DeclinedAt, d.Reason, e.Version);
                    break;
                case ReferralClosed c:
                    operations.Sql(
                        "UPDATE referral_view SET status = 'closed', closed_at = $2, outcome = $3, value_amount = $4, value_currency = $5, version = $6 WHERE id = $1",
                        c.ReferralId, c.ClosedAt, Name(c.Outcome), c.Value?.Amount, c.Value?.Currency, e.Version);
                    break;
                case ReferralIntroduced i:
                    operations.Sql("UPDATE referral_view SET introduced_at = $2, version = $3 WHERE id = $1", i.ReferralId, i.IntroducedAt, e.Version);
                    break;
                case ReferralCorrected c:
                    var correction = new ReferralCorrection(c.CorrectedAt, c.CorrectedBy, c.Reason, c.Outcome, c.Value, c.ThankNote);
                    operations.Sql(
                        """
                        UPDATE referral_view SET
                            outcome = CASE WHEN $2::text IS NULL THEN outcome ELSE $2 END,
                            value_amount = CASE WHEN $2::text IS NULL THEN value_amount ELSE $3 END,
                            value_currency = CASE WHEN $2::text IS NULL THEN value_currency ELSE $4 END,
                            thank_note = coalesce($5, thank_note),
                            corrections = coalesce(corrections, '[]'::jsonb) || jsonb_build_array($6::jsonb),
                            version = $7
                        WHERE id = $1
                        """,
                        c.ReferralId, c.Outcome is { } o ? Name(o) : null, c.Value?.Amount, c.Value?.Currency, c.ThankNote,
                        JsonSerializer.Serialize(correction, CorrectionJson), e.Version);
                    break;
                case ReferralWithdrawn w:
                    operations.Sql("UPDATE referral_view SET status = 'withdrawn', withdrawn_at = $2, withdraw_reason = $3, version = $4 WHERE id = $1",
                        w.ReferralId, w.WithdrawnAt, w.Reason, e.Version);
                    break;
                case ReferralRedirected r:
                    operations.Sql("UPDATE referral_view SET receiver_id = $2, redirected_at = $3, version = $4 WHERE id = $1",
                        r.ReferralId, r.ToReceiverId, r.RedirectedAt, e.Version);
                    break;
                case ReferralThanked t:
                    operations.Sql("UPDATE referral_view SET status = 'thanked', thanked_at = $2, thank_note = $3, version = $4 WHERE id = $1",
                        t.ReferralId, t.ThankedAt, t.Note, e.Version);
                    break;
            }
        }
        return Task.CompletedTask;
    }

    private static string Name<T>(T value) where T : struct, Enum => JsonNamingPolicy.CamelCase.ConvertName(value.ToString());

    // The prospect's key comes with the row, so the details are opened here and nowhere else.
    private const string Columns =
        """
        v.id, v.chapter_id, v.giver_id, v.receiver_id, v.status, v.need, v.temperature, v.language, v.prospect_consent, v.outcome,
        v.value_amount, v.value_currency, v.decline_reason, v.thank_note, v.given_at, v.accepted_at, v.declined_at, v.closed_at,
        v.thanked_at, v.version, v.prospect_sealed, k.key, coalesce(v.prospect_erased_at, k.erased_at), v.introduced_at,
        v.withdrawn_at, v.withdraw_reason, v.redirected_at, v.corrections
        FROM referral_view v LEFT JOIN prospect_keys k ON k.referral_id = v.id
        """;

    /// <summary>Whether the chapter has this referral, as a statement of a batch: one row when it does.</summary>
    public static NpgsqlBatchCommand ExistsCommand(string chapterId, Guid referralId) =>
        new("SELECT 1 FROM referral_view WHERE chapter_id = $1 AND id = $2")
        {
            Parameters = { new NpgsqlParameter { Value = chapterId }, new NpgsqlParameter { Value = referralId } },
        };

    /// <summary>
    /// The view of a referral just given, as this projection writes it (the first event of its stream), so a give can
    /// answer without reading it back. Its times must already be in PostgreSQL's microseconds (<see cref="ToStoredPrecision"/>).
    /// </summary>
    public static ReferralView JustGiven(ReferralGiven g, ProspectContact contact) =>
        new(g.ReferralId, g.ChapterId, g.GiverId, g.ReceiverId, "given", g.Need, g.Temperature, g.Language,
            new ProspectDetails(g.ProspectConsent, contact.Name, contact.Email, contact.Phone, contact.Company, null),
            Outcome: null, Value: null, DeclineReason: null, ThankNote: null, g.GivenAt,
            AcceptedAt: null, DeclinedAt: null, ClosedAt: null, ThankedAt: null, Version: 1);

    /// <summary>A time as PostgreSQL keeps it (microseconds), so what is answered at once and what is read later are the same.</summary>
    public static DateTimeOffset ToStoredPrecision(DateTimeOffset time) => time.AddTicks(-(time.Ticks % TimeSpan.TicksPerMicrosecond));

    public static async Task<ReferralView?> GetAsync(NpgsqlDataSource db, string chapterId, Guid referralId, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} WHERE v.chapter_id = $1 AND v.id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = referralId });
        return (await ReadAsync(command, ct)).SingleOrDefault();
    }

    /// <summary>The referrals given to a member and not yet answered by them (accepted, declined), nor taken back.</summary>
    public static async Task<IReadOnlyList<ReferralView>> WaitingForAsync(NpgsqlDataSource db, string chapterId, Guid receiverId, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} WHERE v.chapter_id = $1 AND v.receiver_id = $2 AND v.status = 'given' ORDER BY v.given_at");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = receiverId });
        return await ReadAsync(command, ct);
    }

    /// <summary>A page of the chapter's referrals, the newest given first; optionally by status, and by a member as giver or receiver.</summary>
    public static async Task<(IReadOnlyList<ReferralView> Items, string? Next)> ListAsync(
        NpgsqlDataSource db, string chapterId, string? status, Guid? memberId, PageRequest page, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"""
            SELECT {Columns}
            WHERE v.chapter_id = $1 AND ($2::text IS NULL OR v.status = $2) AND ($3::uuid IS NULL OR v.giver_id = $3 OR v.receiver_id = $3)
              AND ($4::timestamptz IS NULL OR v.given_at < $4 OR (v.given_at = $4 AND v.id > $5::uuid))
            ORDER BY v.given_at DESC, v.id LIMIT $6
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)memberId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.RowsToRead });
        return page.Cut(await ReadAsync(command, ct), r => new PageCursor(r.GivenAt, r.Id));
    }

    private static async Task<IReadOnlyList<ReferralView>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var views = new List<ReferralView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            views.Add(new ReferralView(
                Id: reader.GetGuid(0),
                ChapterId: reader.GetString(1),
                GiverId: reader.GetGuid(2),
                ReceiverId: reader.GetGuid(3),
                Status: reader.GetString(4),
                Need: reader.GetString(5),
                Temperature: Enum.Parse<Temperature>(reader.GetString(6), ignoreCase: true),
                Language: reader.GetString(7),
                Prospect: OpenProspect(reader.GetGuid(0), reader.GetBoolean(8), Text(20), reader.IsDBNull(21) ? null : reader.GetFieldValue<byte[]>(21), At(22)),
                Outcome: Text(9) is { } outcome ? Enum.Parse<Outcome>(outcome, ignoreCase: true) : null,
                Value: reader.IsDBNull(10) ? null : new Money(reader.GetDecimal(10), reader.GetString(11)),
                DeclineReason: Text(12),
                ThankNote: Text(13),
                GivenAt: reader.GetFieldValue<DateTimeOffset>(14),
                AcceptedAt: At(15),
                DeclinedAt: At(16),
                ClosedAt: At(17),
                ThankedAt: At(18),
                Version: reader.GetInt64(19),
                IntroducedAt: At(23),
                WithdrawnAt: At(24),
                WithdrawReason: Text(25),
                RedirectedAt: At(26),
                Corrections: Text(27) is { } corrections ? JsonSerializer.Deserialize<ReferralCorrection[]>(corrections, CorrectionJson) : null));
        }
        return views;
    }

    private static ProspectDetails OpenProspect(Guid referralId, bool consent, string? sealedText, byte[]? key, DateTimeOffset? erasedAt) =>
        sealedText is not null && key is not null && ProspectSeal.Open(key, referralId, sealedText) is { } contact
            ? new ProspectDetails(consent, contact.Name, contact.Email, contact.Phone, contact.Company, null)
            : ProspectDetails.Erased(consent, erasedAt);
}
