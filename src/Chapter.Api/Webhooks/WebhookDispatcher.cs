using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chapter.Api.Feed;
using Chapter.Api.Infrastructure;
using Npgsql;

namespace Chapter.Api.Webhooks;

/// <summary><c>Chapter:Webhooks</c>: how often to look, how soon to try again, when to give an event up, how long attempts are kept.</summary>
public sealed record WebhookSettings(TimeSpan PollEvery, TimeSpan FirstRetryAfter, TimeSpan GiveUpAfter, bool AllowInsecureTargets,
    TimeSpan KeepDeliveriesFor)
{
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    /// <summary>Doubling from the first delay, at most an hour apart.</summary>
    public TimeSpan RetryAfter(int failedAttempts) =>
        TimeSpan.FromTicks(Math.Min(MaxRetryAfter.Ticks, FirstRetryAfter.Ticks * (1L << Math.Min(failedAttempts - 1, 20))));
}

/// <summary>Failures the service counts on its meter, for alerts: webhook attempts and e-mails that did not go through.</summary>
public sealed class DeliveryMetrics
{
    public DeliveryMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(Telemetry.MeterName);
        WebhookFailures = meter.CreateCounter<long>("chapter.webhooks.failed_attempts", "{attempt}", "Webhook deliveries that got no 2xx.");
        WebhookDeadLetters = meter.CreateCounter<long>("chapter.webhooks.dead_letters", "{event}", "Events a webhook gave up on after retrying for a day.");
        MailFailures = meter.CreateCounter<long>("chapter.mail.failed_attempts", "{attempt}", "E-mails the SMTP server did not take (each attempt).");
    }

    public Counter<long> WebhookFailures { get; }
    public Counter<long> WebhookDeadLetters { get; }
    public Counter<long> MailFailures { get; }
}

/// <summary>
/// Each webhook is a queue of its own over the chapter's event feed: this loop (on every node) leases the webhooks that
/// have events after their position and are due, and delivers each one's events in feed order, one at a time. A 2xx moves
/// the position on. Anything else is retried, doubling the wait, with the events behind it waiting; after
/// <see cref="WebhookSettings.GiveUpAfter"/> the event is dead-lettered (shown in its deliveries) and the queue goes on.
/// The feed reads below Marten's high-water mark, so a late commit is never passed over; an event delivered but not yet
/// recorded when a node dies is sent again by the next lease holder, under the same webhook-id.
/// </summary>
public sealed class WebhookDispatcher(ChapterDatabases databases, IHttpClientFactory http, WebhookSettings settings, DeliveryMetrics metrics,
    WebhookSecretKey secretKey, ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string HttpClientName = "webhooks";
    private const int EventsPerLease = 200;
    private const int PrunedPerStatement = 10_000;
    private readonly Guid _node = Guid.CreateVersion7();
    private DateTime _pruneAt = DateTime.MinValue;

    /// <param name="Secrets">The secret, and after a rotation the one it replaced while that still signs.</param>
    private sealed record Leased(ChapterDatabase Database, Guid Id, string ChapterId, string Url, string[] Events, IReadOnlyList<string> Secrets, long Position, int Attempts,
        DateTimeOffset? FailingSince);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var prune = DateTime.UtcNow >= _pruneAt;
            IReadOnlyList<ChapterDatabase> all = [];
            try
            {
                all = await databases.AllAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Webhook deliveries paused; trying again in {PollEvery}", settings.PollEvery);
            }
            // Each database's webhooks on their own: one that does not answer holds up no other's.
            await Task.WhenAll(all.Select(async db =>
            {
                try
                {
                    var leased = await LeaseDueAsync(db, stoppingToken);
                    await Task.WhenAll(leased.Select(webhook => DeliverAsync(webhook, stoppingToken)));
                    if (prune)
                        await PruneDeliveriesAsync(db, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(e, "Webhook deliveries of database {Database} paused; trying again in {PollEvery}", db.Name, settings.PollEvery);
                }
            }));
            if (prune)
                _pruneAt = DateTime.UtcNow + TimeSpan.FromTicks(Math.Min(TimeSpan.FromHours(1).Ticks, settings.KeepDeliveriesFor.Ticks));
            try
            {
                await Task.Delay(settings.PollEvery, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One row per attempt would grow without end (every event of a chapter, for each of its webhooks); attempts older than
    /// <see cref="WebhookSettings.KeepDeliveriesFor"/> go, a bounded number per statement so no statement runs long. Every
    /// node may do it: deleting what another node deleted changes nothing. A webhook's position is in its own row, untouched.
    /// </summary>
    private async Task PruneDeliveriesAsync(ChapterDatabase db, CancellationToken ct)
    {
        long deleted, total = 0;
        do
        {
            await using var command = db.CreateCommand(
                """
                DELETE FROM webhook_deliveries WHERE id IN (
                    SELECT id FROM webhook_deliveries WHERE attempted_at < now() - $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = settings.KeepDeliveriesFor });
            command.Parameters.Add(new NpgsqlParameter { Value = PrunedPerStatement });
            total += deleted = await command.ExecuteNonQueryAsync(ct);
        } while (deleted == PrunedPerStatement && !ct.IsCancellationRequested);
        if (total > 0)
            logger.LogInformation("Pruned {Count} webhook delivery attempts older than {KeepDeliveriesFor}", total, settings.KeepDeliveriesFor);
    }

    private async Task<IReadOnlyList<Leased>> LeaseDueAsync(ChapterDatabase db, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            UPDATE webhooks w SET lease_owner = $1, lease_until = now() + $2
            WHERE w.id IN (
                SELECT c.id FROM webhooks c
                WHERE c.deleted_at IS NULL AND c.next_attempt_at <= now() AND (c.lease_until IS NULL OR c.lease_until < now())
                  AND c.sealed_secret IS NOT NULL
                  AND EXISTS (SELECT 1 FROM mt_events e WHERE e.tenant_id = c.chapter_id AND e.seq_id > c.position
                              AND e.seq_id <= (SELECT last_seq_id FROM mt_event_progression WHERE name = 'HighWaterMark'))
                ORDER BY c.next_attempt_at LIMIT 20
                FOR UPDATE SKIP LOCKED)
            RETURNING w.id, w.chapter_id, w.url, w.events, w.sealed_secret, w.position, w.attempts, w.failing_since,
                      CASE WHEN w.previous_secret_until > now() THEN w.sealed_previous_secret END
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = _node });
        command.Parameters.Add(new NpgsqlParameter { Value = WebhookSettings.Lease });
        var leased = new List<Leased>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetGuid(0);
            var secrets = new List<string> { secretKey.Open(id, reader.GetFieldValue<byte[]>(4)) };
            if (!reader.IsDBNull(8))
                secrets.Add(secretKey.Open(id, reader.GetFieldValue<byte[]>(8)));
            leased.Add(new Leased(db, id, reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3), secrets,
                reader.GetInt64(5), reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7)));
        }
        return leased;
    }

    private async Task DeliverAsync(Leased webhook, CancellationToken ct)
    {
        var (position, attempts, failingSince) = (webhook.Position, webhook.Attempts, webhook.FailingSince);
        var retryAt = (DateTimeOffset?)null;
        var handled = 0;
        while (retryAt is null && handled < EventsPerLease)
        {
            var events = await EventFeedEndpoints.ReadCommittedAsync(webhook.Database, webhook.ChapterId, position, 50, ct);
            if (events.Count == 0)
                break;
            foreach (var e in events)
            {
                handled++;
                if (!webhook.Events.Contains("*") && !webhook.Events.Contains(e.Type))
                {
                    position = e.Sequence;
                    continue;
                }
                var (delivered, status, error) = await PostAsync(webhook, e, ct);
                attempts++;
                var now = DateTimeOffset.UtcNow;
                var giveUp = !delivered && now - (failingSince ?? now) >= settings.GiveUpAfter;
                await RecordAsync(webhook, e, attempts, delivered ? "delivered" : giveUp ? "dead-lettered" : "failed", status, error, ct);
                if (delivered || giveUp)
                {
                    if (giveUp)
                    {
                        metrics.WebhookDeadLetters.Add(1);
                        logger.LogWarning("Webhook {WebhookId} gave up on event {Position} after {Attempts} attempts", webhook.Id, e.Sequence, attempts);
                    }
                    (position, attempts, failingSince) = (e.Sequence, 0, null);
                    if (!await SaveAsync(webhook, position, attempts, failingSince, null, ct))
                        return; // Deleted, rewound or taken over meanwhile: its new owner goes on.
                    continue;
                }
                metrics.WebhookFailures.Add(1);
                failingSince ??= now;
                retryAt = now + settings.RetryAfter(attempts);
                break;
            }
        }
        await SaveAsync(webhook, position, attempts, failingSince, retryAt, ct, release: true);
    }

    private async Task<(bool Delivered, int? Status, string? Error)> PostAsync(Leased webhook, EventFeedEndpoints.StoredEvent e, CancellationToken ct)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            id = e.Id,
            type = e.Type,
            cursor = EventFeedEndpoints.Cursor(e.Sequence),
            chapterId = webhook.ChapterId,
            occurredAt = e.Timestamp,
            data = EventFeedEndpoints.IntegrationData(e),
        });
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var messageId = $"evt_{e.Id:N}";
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("webhook-id", messageId);
        request.Headers.Add("webhook-timestamp", timestamp);
        // Standard Webhooks: several signatures, space-delimited; a receiver accepts the delivery when one verifies.
        request.Headers.Add("webhook-signature", string.Join(' ', webhook.Secrets.Select(secret => "v1," + Sign(secret, messageId, timestamp, body))));
        try
        {
            using var response = await http.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var status = (int)response.StatusCode;
            return (status is >= 200 and < 300, status, status is >= 300 and < 400 ? "redirects are not followed" : null);
        }
        catch (Exception failure) when (failure is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (false, null, failure is TaskCanceledException ? "timed out" : failure.Message);
        }
    }

    /// <summary>Standard Webhooks: base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}", keyed with the secret's bytes.</summary>
    public static string Sign(string secret, string messageId, string timestamp, byte[] body)
    {
        var signed = Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.").Concat(body).ToArray();
        return Convert.ToBase64String(HMACSHA256.HashData(WebhookStore.Key(secret), signed));
    }

    private async Task RecordAsync(Leased webhook, EventFeedEndpoints.StoredEvent e, int attempt, string outcome, int? status, string? error, CancellationToken ct)
    {
        await using var command = webhook.Database.CreateCommand(
            """
            INSERT INTO webhook_deliveries (id, webhook_id, position, event_id, event_type, attempt, outcome, status_code, error)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """);
        foreach (var value in new object[] { Guid.CreateVersion7(), webhook.Id, e.Sequence, e.Id, e.Type, attempt, outcome })
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)error?[..Math.Min(error.Length, 500)] ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <returns>False when this node no longer holds the lease.</returns>
    private async Task<bool> SaveAsync(Leased webhook, long position, int attempts, DateTimeOffset? failingSince, DateTimeOffset? retryAt, CancellationToken ct,
        bool release = false)
    {
        await using var command = webhook.Database.CreateCommand(
            """
            UPDATE webhooks SET position = $3, attempts = $4, failing_since = $5, next_attempt_at = coalesce($6, now()),
                   lease_owner = CASE WHEN $7 THEN NULL ELSE lease_owner END,
                   lease_until = CASE WHEN $7 THEN NULL ELSE now() + $8 END
            WHERE id = $1 AND lease_owner = $2 AND deleted_at IS NULL
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = webhook.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = _node });
        command.Parameters.Add(new NpgsqlParameter { Value = position });
        command.Parameters.Add(new NpgsqlParameter { Value = attempts });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)failingSince ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)retryAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = release });
        command.Parameters.Add(new NpgsqlParameter { Value = WebhookSettings.Lease });
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }
}
