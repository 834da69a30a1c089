using Chapter.Api.Infrastructure;
using Npgsql;

namespace Chapter.Api.Admin;

/// <param name="Waiting">Messages in Wolverine's durable inbox not handled yet (a notice whose e-mail is still to go out, or waiting for a retry).</param>
/// <param name="Scheduled">Of those, the ones waiting for a scheduled retry.</param>
/// <param name="Outgoing">Messages in the outbox not sent yet.</param>
/// <param name="DeadLetters">What failed for good, newest first (at most 100).</param>
public sealed record OutboxStatus(long Waiting, long Scheduled, long Outgoing, IReadOnlyList<DeadLetter> DeadLetters);

/// <param name="Error">The exception's type and message: ids and status codes, never an address or a name.</param>
public sealed record DeadLetter(Guid Id, string MessageType, string Error, DateTimeOffset? FailedAt, bool Replayable);

public static class OutboxAdminEndpoints
{
    public static void MapOutboxAdmin(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/api/admin/outbox", GetAsync).WithTags("Admin")
            .RequireAuthorization(Access.Policies.Operator)
            .WithName("GetOutbox")
            .WithSummary("Wolverine's durable inbox and outbox: what waits, and what failed for good (the operator)")
            .WithDescription("A notice whose e-mail could not be delivered after every retry, or that its server refused for good (5xx), is dead-lettered here.");

    /// <summary>With several databases, Wolverine keeps an inbox and outbox in each, and in the main one: the status sums them.</summary>
    private static async Task<OutboxStatus> GetAsync(ChapterDatabases databases, CancellationToken ct)
    {
        var statuses = new List<OutboxStatus>();
        foreach (var database in databases.AreSeveral ? [databases.Main, .. await databases.AllAsync()] : new[] { databases.Main })
            statuses.Add(await ReadAsync(database, ct));
        return new OutboxStatus(statuses.Sum(s => s.Waiting), statuses.Sum(s => s.Scheduled), statuses.Sum(s => s.Outgoing),
            statuses.SelectMany(s => s.DeadLetters).OrderByDescending(d => d.FailedAt).Take(100).ToList());
    }

    private static async Task<OutboxStatus> ReadAsync(ChapterDatabase db, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            SELECT count(*) FILTER (WHERE status <> 'Handled'), count(*) FILTER (WHERE status = 'Scheduled'),
                   (SELECT count(*) FROM wolverine_outgoing_envelopes)
            FROM wolverine_incoming_envelopes
            """));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            SELECT id, message_type, coalesce(exception_type, '') || ': ' || coalesce(exception_message, ''), sent_at, replayable
            FROM wolverine_dead_letters ORDER BY sent_at DESC NULLS LAST LIMIT 100
            """));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (waiting, scheduled, outgoing) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        await reader.NextResultAsync(ct);
        var dead = new List<DeadLetter>();
        while (await reader.ReadAsync(ct))
            dead.Add(new DeadLetter(reader.GetGuid(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), !reader.IsDBNull(4) && reader.GetBoolean(4)));
        return new OutboxStatus(waiting, scheduled, outgoing, dead);
    }
}
