using Chapter.Api.Infrastructure;
using System.Security.Cryptography;
using Chapter.Projections;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.Api.Webhooks;

/// <param name="Position">The feed position of the last event delivered or passed over: the next delivery is of the first event after it.</param>
/// <param name="PreviousSecretSignsUntil">After a rotation: until when the replaced secret still signs beside the new one.</param>
/// <param name="FailingSince">When the event after <paramref name="Position"/> first failed; null while deliveries succeed.</param>
public sealed record WebhookView(Guid Id, string ChapterId, string Url, IReadOnlyList<string> Events, string Label, DateTimeOffset CreatedAt,
    string CreatedBy, long Position, int Attempts, DateTimeOffset? FailingSince, DateTimeOffset NextAttemptAt, DateTimeOffset? PreviousSecretSignsUntil);

/// <summary>A webhook as registered: the one time its secret is shown.</summary>
public sealed record RegisteredWebhook(Guid Id, string Url, IReadOnlyList<string> Events, string Label, DateTimeOffset CreatedAt, long Position, string Secret);

/// <summary>A webhook's new secret, shown this once; the one it replaced signs beside it until <paramref name="PreviousSecretSignsUntil"/>.</summary>
public sealed record RotatedSecret(Guid Id, string Secret, DateTimeOffset PreviousSecretSignsUntil);

/// <param name="Outcome">delivered | failed | dead-lettered.</param>
/// <param name="StatusCode">The receiver's HTTP status, when it answered.</param>
public sealed record DeliveryView(Guid Id, long Position, string Cursor, Guid EventId, string EventType, int Attempt, string Outcome, int? StatusCode,
    string? Error, DateTimeOffset AttemptedAt);

/// <summary>The webhooks' tables: registrations, their places in the feed and leases, and every delivery attempt.</summary>
public static class WebhookStore
{
    /// <summary>
    /// Webhooks a chapter's leaders registered, each with its own place in the chapter's event feed: position is the last event
    /// delivered (or passed over, when not subscribed or dead-lettered), so each webhook is a queue of its own. The secret signs
    /// deliveries (HMAC-SHA256), so it must stay openable: it is kept sealed with the service's key, and shown to the leader once. Every attempt is kept, as
    /// leaders and integrators see it when a receiver misbehaves.
    /// </summary>
    public static IEnumerable<Weasel.Postgresql.Tables.Table> Tables()
    {
        var webhooks = ReadModelSchema.NewTable("webhooks");
        webhooks.AddColumn("id", "uuid").AsPrimaryKey();
        webhooks.AddColumn("chapter_id", "text").NotNull();
        webhooks.AddColumn("url", "text").NotNull();
        webhooks.AddColumn("events", "text[]").NotNull();
        webhooks.AddColumn("label", "text").NotNull();
        // Stored as issued before secrets were sealed; emptied into sealed_secret at start (WebhookSecretsAtRest).
        webhooks.AddColumn("secret", "text");
        // The secret that signs deliveries, sealed with Chapter:Webhooks:SecretKey (WebhookSecretKey).
        webhooks.AddColumn("sealed_secret", "bytea");
        // The secret a rotation replaced, still signing beside the new one until previous_secret_until.
        webhooks.AddColumn("sealed_previous_secret", "bytea");
        webhooks.AddColumn("previous_secret_until", "timestamp with time zone");
        webhooks.AddColumn("created_at", "timestamp with time zone").NotNull().DefaultValueByExpression("now()");
        webhooks.AddColumn("created_by", "text").NotNull();
        webhooks.AddColumn("position", "bigint").NotNull();
        webhooks.AddColumn("attempts", "integer").NotNull().DefaultValue(0);
        webhooks.AddColumn("failing_since", "timestamp with time zone");
        webhooks.AddColumn("next_attempt_at", "timestamp with time zone").NotNull().DefaultValueByExpression("now()");
        webhooks.AddColumn("lease_owner", "uuid");
        webhooks.AddColumn("lease_until", "timestamp with time zone");
        webhooks.AddColumn("deleted_at", "timestamp with time zone");
        webhooks.Indexes.Add(new Weasel.Postgresql.Tables.IndexDefinition("webhooks_chapter")
        {
            Columns = ["chapter_id", "created_at", "id"], Predicate = "deleted_at IS NULL",
        });
        webhooks.Indexes.Add(new Weasel.Postgresql.Tables.IndexDefinition("webhooks_due") { Columns = ["next_attempt_at"], Predicate = "deleted_at IS NULL" });
        yield return webhooks;

        var deliveries = ReadModelSchema.NewTable("webhook_deliveries");
        deliveries.AddColumn("id", "uuid").AsPrimaryKey();
        deliveries.AddColumn("webhook_id", "uuid").NotNull().ForeignKeyTo(webhooks, "id", "webhook_deliveries_webhook_id_fkey");
        deliveries.AddColumn("position", "bigint").NotNull();
        deliveries.AddColumn("event_id", "uuid").NotNull();
        deliveries.AddColumn("event_type", "text").NotNull();
        deliveries.AddColumn("attempt", "integer").NotNull();
        deliveries.AddColumn("outcome", "text").NotNull();
        deliveries.AddColumn("status_code", "integer");
        deliveries.AddColumn("error", "text");
        deliveries.AddColumn("attempted_at", "timestamp with time zone").NotNull().DefaultValueByExpression("now()");
        deliveries.CheckConstraints.Add(new Weasel.Core.TableCheckConstraint("webhook_deliveries_outcome_check", "outcome = ANY (ARRAY['delivered'::text, 'failed'::text, 'dead-lettered'::text])"));
        deliveries.Indexes.Add(new Weasel.Postgresql.Tables.IndexDefinition("webhook_deliveries_webhook") { Columns = ["webhook_id", "attempted_at", "id"] });
        yield return deliveries;
    }

    private const string Columns =
        "id, chapter_id, url, events, label, created_at, created_by, position, attempts, failing_since, next_attempt_at, " +
        "CASE WHEN previous_secret_until > now() THEN previous_secret_until END";

    /// <summary>Standard Webhooks' form: "whsec_" and the base64 of 32 random bytes, the HMAC key.</summary>
    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static byte[] Key(string secret) => Convert.FromBase64String(secret["whsec_".Length..]);

    /// <summary>Registers a webhook that starts after the chapter's last committed event: it hears what happens from now on.</summary>
    public static async Task<RegisteredWebhook> RegisterAsync(ChapterDatabase db, WebhookSecretKey key, string chapterId, string url,
        IReadOnlyList<string> events, string label, string createdBy, CancellationToken ct)
    {
        var (id, secret) = (Guid.CreateVersion7(), NewSecret());
        await using var command = db.CreateCommand(
            """
            INSERT INTO webhooks (id, chapter_id, url, events, label, sealed_secret, created_by, position)
            VALUES ($1, $2, $3, $4, $5, $6, $7,
                    coalesce((SELECT max(seq_id) FROM mt_events WHERE tenant_id = $2
                              AND seq_id <= (SELECT last_seq_id FROM mt_event_progression WHERE name = 'HighWaterMark')), 0))
            RETURNING created_at, position
            """);
        foreach (var value in new object[] { id, chapterId, url, events.ToArray(), label, key.Seal(id, secret), createdBy })
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new RegisteredWebhook(id, url, events, label, reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1), secret);
    }

    /// <summary>
    /// A new secret signs from now on; the one it replaces signs beside it for <see cref="PreviousSecretSigns"/> (Standard
    /// Webhooks sends several signatures), so a receiver can take the new one on without losing a delivery. A second rotation
    /// within that time ends the first secret's overlap at once.
    /// </summary>
    public static async Task<RotatedSecret?> RotateSecretAsync(ChapterDatabase db, WebhookSecretKey key, string chapterId, Guid id, CancellationToken ct)
    {
        var secret = NewSecret();
        await using var command = db.CreateCommand(
            """
            UPDATE webhooks SET sealed_previous_secret = sealed_secret, previous_secret_until = now() + $4, sealed_secret = $3
            WHERE chapter_id = $1 AND id = $2 AND deleted_at IS NULL
            RETURNING previous_secret_until
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = key.Seal(id, secret) });
        command.Parameters.Add(new NpgsqlParameter { Value = PreviousSecretSigns });
        return await command.ExecuteScalarAsync(ct) is DateTime until
            ? new RotatedSecret(id, secret, new DateTimeOffset(until, TimeSpan.Zero))
            : null;
    }

    public static readonly TimeSpan PreviousSecretSigns = TimeSpan.FromHours(24);

    public static async Task<WebhookView?> GetAsync(ChapterDatabase db, string chapterId, Guid id, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM webhooks WHERE chapter_id = $1 AND id = $2 AND deleted_at IS NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return (await ReadAsync(command, ct)).SingleOrDefault();
    }

    public static async Task<(IReadOnlyList<WebhookView> Items, string? Next)> ListAsync(ChapterDatabase db, string chapterId, PageRequest page, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"""
             SELECT {Columns} FROM webhooks
             WHERE chapter_id = $1 AND deleted_at IS NULL AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
             ORDER BY created_at, id LIMIT $4
             """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.RowsToRead });
        return page.Cut(await ReadAsync(command, ct), w => new PageCursor(w.CreatedAt, w.Id));
    }

    public static async Task<bool> DeleteAsync(ChapterDatabase db, string chapterId, Guid id, CancellationToken ct)
    {
        await using var command = db.CreateCommand("UPDATE webhooks SET deleted_at = now() WHERE chapter_id = $1 AND id = $2 AND deleted_at IS NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Sends again from a feed position: the events after it are delivered anew, in order.</summary>
    public static async Task<bool> RewindAsync(ChapterDatabase db, string chapterId, Guid id, long from, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            UPDATE webhooks SET position = $3, attempts = 0, failing_since = NULL, next_attempt_at = now(), lease_owner = NULL, lease_until = NULL
            WHERE chapter_id = $1 AND id = $2 AND deleted_at IS NULL
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public static async Task<(IReadOnlyList<DeliveryView> Items, string? Next)> DeliveriesAsync(ChapterDatabase db, Guid webhookId, PageRequest page, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT id, position, event_id, event_type, attempt, outcome, status_code, error, attempted_at FROM webhook_deliveries
            WHERE webhook_id = $1 AND ($2::timestamptz IS NULL OR (attempted_at, id) > ($2, $3::uuid))
            ORDER BY attempted_at, id LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = webhookId });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = page.AfterId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = page.RowsToRead });
        var rows = new List<DeliveryView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new DeliveryView(reader.GetGuid(0), reader.GetInt64(1), Feed.EventFeedEndpoints.Cursor(reader.GetInt64(1)), reader.GetGuid(2),
                reader.GetString(3), reader.GetInt32(4), reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetInt32(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.GetFieldValue<DateTimeOffset>(8)));
        return page.Cut(rows, d => new PageCursor(d.AttemptedAt, d.Id));
    }

    private static async Task<List<WebhookView>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var found = new List<WebhookView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            found.Add(new WebhookView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetString(6), reader.GetInt64(7), reader.GetInt32(8),
                reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9), reader.GetFieldValue<DateTimeOffset>(10),
                reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11)));
        return found;
    }
}
