using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain;
using Chapter.Domain.Referrals;
using Chapter.Projections;
using Chapter.Projections.Chapters;
using Chapter.Projections.Prospects;
using Chapter.Projections.Referrals;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Chapter.Api.Feed;

public sealed record FeedItem(long Position, string Cursor, string StreamId, long Version, string Type, DateTimeOffset OccurredAt, JsonNode Data);

/// <summary>A page of the feed. Pass <see cref="Next"/> as <c>after</c> to read on; an empty page means caught up for now.</summary>
public sealed record FeedPage(IReadOnlyList<FeedItem> Items, string Next);

public static class EventFeedEndpoints
{
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;
    private static readonly string ReferralGivenType = EventNames.All[typeof(ReferralGiven)];

    public static void MapEventFeed(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/api/chapters/{chapterId}/events", ReadAsync)
            .RequireAuthorization(Policies.ChapterReports)
            .WithTags("Feed")
            .WithName("ReadEventFeed")
            .WithSummary("The chapter's events, for integrations to follow (leaders and integrations)")
            .WithDescription(
                "Events in sequence order, up to the event store's high-water mark (below it, every transaction has committed or " +
                "rolled back). Start without 'after', then pass each page's 'next' as 'after'; an event that commits late is never " +
                "skipped. A cursor this chapter's feed never gave (past its end, another chapter's) is 400, saying where to start again. 'limit' is 1–1000 (default 100). 'wait' (0–30 s): with nothing after 'after', answer as soon as an event " +
                "commits, or with an empty page when the wait is over. Payloads are the stored JSON, except the prospect of " +
                "referral.given.v2: leaders see their details (or \"erased\"), integrations never see them.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

    private const int MaxWaitSeconds = 30;
    private static readonly TimeSpan WaitPoll = TimeSpan.FromMilliseconds(200);

    private static async Task<Results<Ok<FeedPage>, ValidationProblem, ProblemHttpResult>> ReadAsync(
        string chapterId, string? after, int? limit, int? wait, ChapterDatabase db, Caller caller, CancellationToken ct)
    {
        var check = new Validation();
        var position = 0L;
        if (after is not null && PreviousStoreCursor(after) is { } old)
        {
            // The previous store's cursors followed commit order; say where this chapter's feed resumes in sequence order.
            var resume = await PreviousStoreImport.ResumeAfterAsync(db, chapterId, old.TransactionId, old.Sequence, ct);
            check.Add("after", resume is { } at
                ? $"'after' is a cursor of the event store this service used before. Start again with after={at}: nothing after your cursor is skipped, though some events you already read may come again."
                : "'after' is a cursor of the event store this service used before. Start again without 'after'.");
        }
        else if (after is not null && !long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out position))
            check.Add("after", "'after' is the 'next' value of a previous page, e.g. '1234'.");
        if (limit is < 1 or > MaxLimit)
            check.Add("limit", $"'limit' is a number from 1 to {MaxLimit}.");
        if (wait is < 0 or > MaxWaitSeconds)
            check.Add("wait", $"'wait' is a number of seconds from 0 to {MaxWaitSeconds}.");
        if (!check.IsValid)
            return (ValidationProblem)check.Problem();
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is null)
            return Problems.NotFound($"Chapter '{chapterId}' does not exist.");
        if (position != 0 && await CursorRefusalAsync(db, chapterId, position, ct) is { } refusal)
        {
            check.Add("after", refusal);
            return (ValidationProblem)check.Problem();
        }

        var events = await ReadCommittedAsync(db, chapterId, position, limit ?? DefaultLimit, ct);
        // A long poll: with nothing new, answer as soon as something commits (below the high-water mark, as always), or
        // empty when the wait is over.
        var until = DateTime.UtcNow.AddSeconds(wait ?? 0);
        while (events.Count == 0 && DateTime.UtcNow + WaitPoll <= until)
        {
            await Task.Delay(WaitPoll, ct);
            events = await ReadCommittedAsync(db, chapterId, position, limit ?? DefaultLimit, ct);
        }
        var items = await AsSeenByAsync(db, events, caller, ct);
        return TypedResults.Ok(new FeedPage(items, items.Count == 0 ? Cursor(position) : items[^1].Cursor));
    }

    /// <summary>A page of the chapter's committed events after <paramref name="after"/>, as the feed shows them to <paramref name="caller"/>.</summary>
    internal static async Task<IReadOnlyList<FeedItem>> ReadAsSeenAsync(ChapterDatabase db, string chapterId, long after, int limit, Caller caller,
        CancellationToken ct) =>
        await AsSeenByAsync(db, await ReadCommittedAsync(db, chapterId, after, limit, ct), caller, ct);

    private static async Task<IReadOnlyList<FeedItem>> AsSeenByAsync(ChapterDatabase db, IReadOnlyList<StoredEvent> events, Caller caller, CancellationToken ct)
    {
        var keys = caller.IsLeader
            ? await ProspectKeys.FindAsync(db, events.Where(e => e.Type == ReferralGivenType).Select(e => ReferralId(e.StreamId)).ToList(), ct)
            : new Dictionary<Guid, byte[]>();
        return events.Select(e =>
        {
            var data = JsonNode.Parse(e.Data)!;
            if (e.Type == ReferralGivenType && data is JsonObject given)
                ShowProspect(given, ReferralId(e.StreamId), caller.IsLeader, keys);
            WithoutSealedTexts(data);
            return new FeedItem(e.Sequence, Cursor(e.Sequence), e.StreamId, e.Version, e.Type, e.Timestamp, data);
        }).ToList();
    }

    /// <summary>
    /// A cursor is the position of one of this chapter's events that the feed has shown. Any other number (past the end,
    /// another chapter's, a guess) would make the poller wait for, or skip, events it never meant: it is refused at once,
    /// saying where to start again.
    /// </summary>
    private static async Task<string?> CursorRefusalAsync(ChapterDatabase db, string chapterId, long position, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            WITH hwm AS (SELECT coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = 'HighWaterMark'), 0) AS last_seq_id)
            SELECT EXISTS (SELECT 1 FROM mt_events e, hwm WHERE e.seq_id = $2 AND e.tenant_id = $1 AND e.seq_id <= hwm.last_seq_id),
                   (SELECT max(e.seq_id) FROM mt_events e, hwm WHERE e.tenant_id = $1 AND e.seq_id <= hwm.last_seq_id)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = position });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        if (reader.GetBoolean(0))
            return null;
        var newest = reader.IsDBNull(1) ? (long?)null : reader.GetInt64(1);
        return newest is { } last && position > last
            ? $"'after' is past the end of this chapter's feed, whose newest event is at {Cursor(last)}. Start again with after={Cursor(last)}, or without 'after' to read from the beginning."
            : "'after' is not a position this chapter's feed gave (pass the 'next' of one of its pages). Start again without 'after' to read from the beginning.";
    }

    internal sealed record StoredEvent(long Sequence, Guid Id, string StreamId, long Version, string Type, string Data, DateTimeOffset Timestamp);

    /// <summary>An event's payload as integrations see it: the prospect's sealed details left out.</summary>
    internal static JsonNode IntegrationData(StoredEvent e)
    {
        var data = JsonNode.Parse(e.Data)!;
        if (e.Type == ReferralGivenType && data is JsonObject given)
            ShowProspect(given, ReferralId(e.StreamId), showDetails: false, new Dictionary<Guid, byte[]>());
        WithoutSealedTexts(data);
        return data;
    }

    /// <summary>
    /// Sequence numbers are taken before commit, so they become visible out of order. Marten's high-water mark is the
    /// highest number below which nothing can still appear (its daemon waits while a transaction that could fill a gap
    /// is alive), so a poller that resumes after the last number it saw misses nothing, whichever node it asks.
    /// </summary>
    internal static async Task<IReadOnlyList<StoredEvent>> ReadCommittedAsync(ChapterDatabase db, string chapterId, long after, int limit, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT seq_id, id, stream_id, version, type, data::text, timestamp
            FROM mt_events
            WHERE tenant_id = $1 AND seq_id > $2
              AND seq_id <= (SELECT last_seq_id FROM mt_event_progression WHERE name = 'HighWaterMark')
            ORDER BY seq_id
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = after });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var events = new List<StoredEvent>(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            events.Add(new StoredEvent(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4), reader.GetString(5),
                reader.GetFieldValue<DateTimeOffset>(6)));
        return events;
    }

    /// <summary>A substitute's or a visitor's sealed details never leave the service: their own reads show them to whom may see them.</summary>
    private static void WithoutSealedTexts(JsonNode data)
    {
        if (data is JsonObject json)
        {
            json.Remove("sealedSubstitute");
            json.Remove("sealedDetails");
        }
    }

    /// <summary>The sealed text never leaves the service: leaders get the details opened (or "erased"), others nothing.</summary>
    private static void ShowProspect(JsonObject given, Guid referralId, bool showDetails, IReadOnlyDictionary<Guid, byte[]> keys)
    {
        var sealedText = given["sealedProspect"]?.GetValue<string>();
        given.Remove("sealedProspect");
        if (!showDetails)
            return;
        var consent = given["prospectConsent"]?.GetValue<bool>() ?? false;
        var contact = sealedText is not null && keys.TryGetValue(referralId, out var key) ? ProspectSeal.Open(key, referralId, sealedText) : null;
        var details = contact is null
            ? ProspectDetails.Erased(consent, null)
            : new ProspectDetails(consent, contact.Name, contact.Email, contact.Phone, contact.Company, null);
        given["prospect"] = JsonSerializer.SerializeToNode(details, ChapterEventTypes.SerializerOptions);
    }

    private static Guid ReferralId(string streamId) => Guid.Parse(streamId["referral-".Length..]);

    private static (ulong TransactionId, long Sequence)? PreviousStoreCursor(string cursor)
    {
        var parts = cursor.Split('-');
        return parts.Length == 2
               && ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var transaction)
               && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            ? (transaction, sequence)
            : null;
    }

    internal static string Cursor(long sequence) => sequence.ToString(CultureInfo.InvariantCulture);
}
