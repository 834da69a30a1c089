using System.Diagnostics.Metrics;
using System.Text.Json;
using Chapter.Projections;
using Chapter.Projections.Activity;
using JasperFx.Events.Daemon;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Chapter.Api.Infrastructure;

/// <summary>What an operator needs to know about one async projection.</summary>
/// <param name="State">running, failed (stopped at a poison event), or rebuilding (running, with a rebuild under way).</param>
/// <param name="Position">The highest sequence number applied to the tables reads come from.</param>
/// <param name="LagEvents">Committed events not applied yet (counted up to 1,000,000).</param>
/// <param name="LagSeconds">Age of the oldest committed event not applied yet; 0 when caught up.</param>
/// <param name="Leader">The node applying it, when it is this one.</param>
/// <param name="RebuildError">Why the last rebuild failed (the live tables went on), until the next one is asked for.</param>
/// <param name="RebuildPosition">How far a rebuild under way has got: the highest sequence applied to the copy.</param>
/// <param name="HeldBackBy">An open transaction that keeps committed events from being applied, if any.</param>
public sealed record ProjectionStatus(
    string Name,
    string State,
    long Position,
    long LagEvents,
    double LagSeconds,
    long AppliedEvents,
    long SkippedUnknownEvents,
    string? Error,
    long? ErrorSequence,
    string? Leader,
    bool RebuildRequested,
    string? RebuildError,
    DateTimeOffset UpdatedAt,
    long? RebuildPosition,
    BlockingTransaction? HeldBackBy);

public sealed record BlockingTransaction(int ProcessId, string? State, double AgeSeconds);

/// <summary>A projection stopped at an event it could not apply.</summary>
public sealed class ProjectionFailedException(string projection, long? sequence, string? error)
    : Exception($"Projection '{projection}' stopped at event {sequence}: {error}");

/// <summary>Status, rebuilds and health of the async projections Marten's daemon runs.</summary>
public static class Projections
{
    /// <summary>Where Marten's daemon says, every ~250 ms at Information, that it holds before an open transaction's gap.</summary>
    public const string DaemonCoordinatorLog = "Marten.Events.Daemon.Coordination.ProjectionCoordinator";

    public static void AddChapterProjections(this WebApplicationBuilder builder)
    {
        // That hold is the status's heldBackBy and /health's Degraded, and a warning once a minute: not four lines a second.
        builder.Logging.AddFilter(DaemonCoordinatorLog, LogLevel.Warning);
        builder.Services.AddSingleton<AsyncProjections>(services =>
        {
            var projections = ActivatorUtilities.CreateInstance<AsyncProjections>(services);
            projections.RegisterMeters(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
            return projections;
        });
        builder.Services.AddHostedService(services => services.GetRequiredService<AsyncProjections>());
        builder.Services.AddHealthChecks().AddCheck<ProjectionsHealthCheck>("projections");
    }

    /// <summary>A projection stopped at a poison event makes the service degraded, naming the event; so does a long stall.</summary>
    private sealed class ProjectionsHealthCheck(AsyncProjections projections) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var statuses = await projections.GetStatusAsync(cancellationToken, countEvents: false);
                var failed = statuses.Where(s => s.State == "failed").ToList();
                if (failed.Count > 0)
                    return HealthCheckResult.Degraded(string.Join("; ", failed.Select(s => $"projection '{s.Name}' stopped at event {s.ErrorSequence}: {s.Error}")));
                var failedRebuilds = statuses.Where(s => s.RebuildError is not null).ToList();
                if (failedRebuilds.Count > 0)
                    return HealthCheckResult.Degraded(string.Join("; ", failedRebuilds.Select(s => $"rebuild of projection '{s.Name}' failed (the live tables go on): {s.RebuildError}")));
                var held = statuses.Where(s => s.HeldBackBy is not null).ToList();
                var lag = $"largest lag {statuses.Select(s => s.LagEvents).DefaultIfEmpty().Max()} events, {statuses.Select(s => s.LagSeconds).DefaultIfEmpty().Max()} s";
                return held.Count == 0
                    ? HealthCheckResult.Healthy($"{statuses.Count} projection(s) running; {lag}.")
                    : HealthCheckResult.Degraded($"{lag}; held back by the open transaction of process {held[0].HeldBackBy!.ProcessId} ({held[0].HeldBackBy!.AgeSeconds} s).");
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("Projection status unavailable: PostgreSQL does not answer.");
            }
        }
    }

    /// <summary>Health as JSON: the overall status and what each check found.</summary>
    public static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.Select(e => new { name = e.Key, status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, JsonSerializerOptions.Web);
    }
}

/// <summary>
/// Our rules around Marten's daemon for the activity projection: its status as operators read it, a wait that cannot
/// hang, and rebuilds beside the live tables. A rebuild asked for on any node is run by the node whose daemon applies the
/// projection: it fills <see cref="ActivityProjection.RebuildSchema"/> through Marten's rebuild while reads go on from
/// the live schema, swaps the two, and starts the projection's agent again.
/// </summary>
/// <remarks>
/// A node with the daemon off (<c>Chapter:Daemon:Enabled=false</c>) has no coordinator: it serves requests, reports status
/// and records rebuild requests, which a node with the daemon runs.
/// </remarks>
public sealed class AsyncProjections(
    NpgsqlDataSource db, ILogger<AsyncProjections> logger, IProjectionCoordinator? coordinator = null) : BackgroundService
{
    public static readonly IReadOnlyList<string> Names = [ActivityProjection.ProjectionName];
    private static readonly string[] KnownEventTypes = [.. Chapter.Domain.EventNames.All.Values];
    private static readonly TimeSpan LongTransaction = TimeSpan.FromSeconds(2);
    private readonly string _node = $"{Environment.MachineName}:{Environment.ProcessId}";
    private DateTime _lastHeldBackWarning = DateTime.MinValue;
    private volatile bool _agentStoppedHere;
    private static readonly TimeSpan MeasureEvery = TimeSpan.FromSeconds(5);
    private DateTime _lastMeasured = DateTime.MinValue;
    private volatile IReadOnlyList<ProjectionStatus> _measured = [];
    private long _outboxDepth;
    private long _deadLetters;

    /// <summary>
    /// The meter reads what the service measured last (every 5 s, on every node): lag per projection, and Wolverine's
    /// envelopes not yet handled or sent, and those dead-lettered.
    /// </summary>
    public void RegisterMeters(IMeterFactory meters)
    {
        var meter = meters.Create(Telemetry.MeterName);
        meter.CreateObservableGauge("chapter.projection.lag", () =>
            _measured.Select(s => new Measurement<long>(s.LagEvents, new KeyValuePair<string, object?>("projection", s.Name))),
            unit: "{event}", description: "Committed events an async projection has not applied yet.");
        meter.CreateObservableGauge("chapter.projection.lag_seconds", () =>
            _measured.Select(s => new Measurement<double>(s.LagSeconds, new KeyValuePair<string, object?>("projection", s.Name))),
            unit: "s", description: "Age of the oldest committed event an async projection has not applied yet.");
        meter.CreateObservableGauge("chapter.outbox.depth", () => Interlocked.Read(ref _outboxDepth),
            unit: "{message}", description: "Messages in Wolverine's durable inbox and outbox, not handled or sent yet.");
        meter.CreateObservableGauge("chapter.outbox.dead_letters", () => Interlocked.Read(ref _deadLetters),
            unit: "{message}", description: "Messages Wolverine gave up on.");
    }

    private async Task MeasureAsync(CancellationToken ct)
    {
        if (DateTime.UtcNow - _lastMeasured < MeasureEvery)
            return;
        _lastMeasured = DateTime.UtcNow;
        _measured = await GetStatusAsync(ct, countEvents: false);
        await using var command = db.CreateCommand(
            """
            SELECT (SELECT count(*) FROM wolverine_incoming_envelopes WHERE status <> 'Handled') + (SELECT count(*) FROM wolverine_outgoing_envelopes),
                   (SELECT count(*) FROM wolverine_dead_letters)
            """);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct))
        {
            Interlocked.Exchange(ref _outboxDepth, reader.GetInt64(0));
            Interlocked.Exchange(ref _deadLetters, reader.GetInt64(1));
        }
    }

    public async Task RequestRebuildAsync(string projection, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "UPDATE projection_state SET rebuild_requested = true, cancel_requested = false, rebuild_error = NULL, updated_at = now() WHERE name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = projection });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <returns>False when no rebuild of the projection is asked for or under way.</returns>
    public async Task<bool> RequestRebuildCancelAsync(string projection, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "UPDATE projection_state SET cancel_requested = true, updated_at = now() WHERE name = $1 AND rebuild_requested");
        command.Parameters.Add(new NpgsqlParameter { Value = projection });
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <param name="countEvents">
    /// Count the events applied and skipped: a scan of the log up to the position, for the operator's status page; health
    /// checks and waits go without (their counts read 0).
    /// </param>
    public async Task<IReadOnlyList<ProjectionStatus>> GetStatusAsync(CancellationToken ct, bool countEvents = true)
    {
        await using var command = db.CreateCommand(
            """
            WITH s AS (
                -- While a rebuild runs, Marten's checkpoint is the copy's; the live tables' position and stop are kept aside.
                SELECT s.name, s.rebuild_requested, s.rebuild_error, s.updated_at, s.live_position,
                       CASE WHEN s.live_position IS NULL THEN s.failed_seq ELSE s.live_failed_seq END AS failed_seq,
                       CASE WHEN s.live_position IS NULL THEN s.error ELSE s.live_error END AS error,
                       coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = s.name || ':All'), 0) AS checkpoint
                FROM projection_state s WHERE s.name = ANY($1)),
            p AS (
                SELECT s.*, least(coalesce(s.live_position, s.checkpoint), coalesce(s.failed_seq - 1, 9223372036854775807)) AS position FROM s)
            SELECT p.name, p.failed_seq, p.error, p.rebuild_requested, p.rebuild_error, p.updated_at, p.position,
                   (SELECT count(*) FROM (SELECT 1 FROM mt_events e WHERE e.seq_id > p.position LIMIT 1000000) pending),
                   (SELECT extract(epoch FROM now() - e.timestamp)::float8 FROM mt_events e WHERE e.seq_id > p.position ORDER BY e.seq_id LIMIT 1),
                   CASE WHEN $3 THEN (SELECT count(*) FROM mt_events e WHERE e.seq_id <= p.position) ELSE 0 END,
                   -- Marten's daemon skips events of a type this version does not know (written by a newer one): count them.
                   CASE WHEN $3 THEN (SELECT count(*) FROM mt_events e WHERE e.seq_id <= p.position AND e.type <> ALL($2)) ELSE 0 END,
                   CASE WHEN p.live_position IS NOT NULL THEN p.checkpoint END
            FROM p ORDER BY p.name
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = Names.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = KnownEventTypes });
        command.Parameters.Add(new NpgsqlParameter { Value = countEvents });
        var rows = new List<ProjectionStatus>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var failed = !reader.IsDBNull(1);
                var rebuilding = reader.GetBoolean(3);
                rows.Add(new ProjectionStatus(
                    Name: reader.GetString(0),
                    State: failed ? "failed" : rebuilding ? "rebuilding" : "running",
                    Position: reader.GetInt64(6),
                    LagEvents: reader.GetInt64(7),
                    LagSeconds: reader.IsDBNull(8) ? 0 : Math.Max(0, Math.Round(reader.GetDouble(8), 3)),
                    AppliedEvents: reader.GetInt64(9),
                    SkippedUnknownEvents: reader.GetInt64(10),
                    Error: reader.IsDBNull(2) ? null : reader.GetString(2),
                    ErrorSequence: failed ? reader.GetInt64(1) : null,
                    Leader: LeadsHere(reader.GetString(0)) ? _node : null,
                    RebuildRequested: rebuilding,
                    RebuildError: reader.IsDBNull(4) ? null : reader.GetString(4),
                    UpdatedAt: reader.GetFieldValue<DateTimeOffset>(5),
                    RebuildPosition: reader.IsDBNull(11) ? null : reader.GetInt64(11),
                    HeldBackBy: null));
            }
        }
        if (rows.Any(r => r.LagEvents > 0) && await FindBlockingTransactionAsync(ct) is { } blocker)
        {
            rows = rows.Select(r => r.LagEvents > 0 ? r with { HeldBackBy = blocker } : r).ToList();
            if (DateTime.UtcNow - _lastHeldBackWarning > TimeSpan.FromMinutes(1))
            {
                // Status is polled (health checks): say it once a minute, not on every poll.
                _lastHeldBackWarning = DateTime.UtcNow;
                logger.LogWarning("Async projections are held back by the transaction of process {Pid}, open for {Age} s", blocker.ProcessId, blocker.AgeSeconds);
            }
        }
        return rows;
    }

    // Marten's daemon does not pass a sequence number whose transaction may still commit: the oldest open
    // transaction that has written something holds every younger event back.
    private async Task<BlockingTransaction?> FindBlockingTransactionAsync(CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            """
            SELECT pid, state, extract(epoch FROM now() - xact_start)::float8
            FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL AND datname = current_database() AND pid <> pg_backend_pid() AND now() - xact_start > $1
            ORDER BY age(backend_xid) DESC
            LIMIT 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = LongTransaction });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new BlockingTransaction(reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1), Math.Round(reader.GetDouble(2), 1))
            : null;
    }

    private bool LeadsHere(string projection) =>
        coordinator is not null && coordinator.DaemonForMainDatabase().CurrentAgents().Any(a => a.Name.Identity == $"{projection}:All");

    /// <summary>
    /// Waits until every async projection has applied every event up to <paramref name="sequence"/>. Throws
    /// <see cref="ProjectionFailedException"/> at once when one stopped, and <see cref="TimeoutException"/> (with
    /// each projection's status) when the time is up: it never hangs.
    /// </summary>
    public async Task WaitForAsync(long sequence, TimeSpan timeout, CancellationToken ct = default)
    {
        var until = DateTime.UtcNow + timeout;
        var pause = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var statuses = await GetStatusAsync(ct, countEvents: false);
            if (statuses.FirstOrDefault(s => s.State == "failed") is { } failed)
                throw new ProjectionFailedException(failed.Name, failed.ErrorSequence, failed.Error);
            if (statuses.All(s => s.Position >= sequence && !s.RebuildRequested))
                return;
            if (DateTime.UtcNow > until)
                throw new TimeoutException(
                    $"Projections did not reach event {sequence} within {timeout.TotalSeconds} s: " +
                    string.Join("; ", statuses.Select(s => $"{s.Name} at {s.Position} ({s.State}, {s.LagEvents} behind{(s.HeldBackBy is { } b ? $", held back by pid {b.ProcessId}" : "")})")));
            await Task.Delay(pause, ct);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 200));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken);
                await MeasureAsync(stoppingToken);
                if (!LeadsHere(ActivityProjection.ProjectionName) && !_agentStoppedHere)
                    continue;
                var (requested, cancelRequested) = await RebuildRequestAsync(stoppingToken);
                if (cancelRequested)
                    await ReturnToLiveTablesAsync(rebuildError: null, stoppingToken);
                else if (requested)
                    await RebuildActivityAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Could not check for projection rebuilds: {Error}", e.Message);
            }
        }
    }

    private async Task<(bool Requested, bool CancelRequested)> RebuildRequestAsync(CancellationToken ct)
    {
        await using var command = db.CreateCommand("SELECT rebuild_requested, cancel_requested FROM projection_state WHERE name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = ActivityProjection.ProjectionName });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetBoolean(0), reader.GetBoolean(1)) : (false, false);
    }

    /// <summary>
    /// Fills <see cref="ActivityProjection.RebuildSchema"/> from the first event while reads go on from the live tables,
    /// then swaps the two. Every step leaves the database consistent: the live tables' position is kept in
    /// <c>projection_state</c> in the same transaction that hands Marten's checkpoint to the copy, and the copy replaces
    /// them in the same transaction that hands it back. Interrupted (a restart, another node taking over), it starts
    /// again from the first event; cancelled or failed, the live tables go on from where they were.
    /// </summary>
    private async Task RebuildActivityAsync(CancellationToken ct)
    {
        var daemon = coordinator!.DaemonForMainDatabase();
        logger.LogInformation("Rebuilding projection {Projection} beside the live tables", ActivityProjection.ProjectionName);
        try
        {
            await StopAgentAsync(daemon);
            // Marten's daemon skips an event of a type this version does not know. Running, that is counted in the status;
            // a rebuild that left one out would be a copy with a hole, so it is refused, loudly.
            if (await FirstUnknownEventAsync(ct) is { } unknown)
                throw new InvalidOperationException(
                    $"event {unknown.Sequence} is of type '{unknown.Type}', which this version does not know: a rebuild would leave it out. Deploy the version that knows it, then rebuild.");

            await ActivityProjection.DropSchemaAsync(db, ActivityProjection.RebuildSchema, ct);
            await ExecuteAsync(
                $"""
                CREATE SCHEMA {ActivityProjection.RebuildSchema};
                SET LOCAL search_path TO {ActivityProjection.RebuildSchema};
                {ActivityProjection.SchemaSql}
                """, ct);
            // A stop at a poison event is kept with the live position and cleared for the copy: the replay meets the event
            // again, and stops again if it is still poison. Started again after an interruption, the live state kept the
            // first time stays.
            await ExecuteAsync(
                $"""
                UPDATE projection_state SET
                    live_failed_seq = CASE WHEN live_position IS NULL THEN failed_seq ELSE live_failed_seq END,
                    live_error = CASE WHEN live_position IS NULL THEN error ELSE live_error END,
                    live_position = coalesce(live_position, (SELECT last_seq_id FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}'), 0),
                    failed_seq = NULL, error = NULL, rebuild_error = NULL, updated_at = now()
                WHERE name = '{ActivityProjection.ProjectionName}';
                -- No progression row is how Marten's daemon starts from the first event (it inserts the row with its first batch).
                -- Written here, in the transaction that sets the live position aside, so a crash leaves no half-handed checkpoint;
                -- the daemon's rewind below does the same again and starts the agent.
                DELETE FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}';
                """, ct);
            var target = await ScalarAsync("SELECT coalesce(max(seq_id), 0) FROM mt_events", ct);
            logger.LogInformation("Filling a fresh copy of {Projection} from the first event to event {Target}", ActivityProjection.ProjectionName, target);
            await RestartAgentFromAsync(daemon, 0);
            var reached = -1L;
            var movedAt = DateTime.UtcNow;
            var nudges = 0;
            while (await ScalarAsync($"SELECT coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}'), 0)", ct) is var position
                   && position < target
                   && await ScalarAsync($"SELECT count(*) FROM projection_state WHERE name = '{ActivityProjection.ProjectionName}' AND failed_seq IS NOT NULL", ct) == 0)
            {
                if ((await RebuildRequestAsync(ct)).CancelRequested)
                {
                    await ReturnToLiveTablesAsync(rebuildError: null, ct);
                    return;
                }
                if (position != reached)
                    (reached, movedAt, nudges) = (position, DateTime.UtcNow, 0);
                else if (DateTime.UtcNow - movedAt > TimeSpan.FromSeconds(2)
                         && await ScalarAsync("SELECT coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = 'HighWaterMark'), 0)", ct) > position)
                {
                    // Also seen: the restarted agent holding below a high-water mark that stays put (nothing new commits while
                    // an open transaction holds a gap), as if it never heard of it. Telling the agents the mark again starts it
                    // when the agent had missed the mark. It cannot when the agent still counts a page as in flight, one way
                    // we read in JasperFx.Events' SubscriptionAgent and SubscriptionExecution: a mark no higher than the
                    // agent's own is ignored, loads go on only beyond what was enqueued, and a page whose execution ends in an
                    // OperationCanceledException is dropped without being marked done. Seen once in CI: the copy held at 7 for
                    // over a minute. A new agent starts from the position the copy committed, so it loads that page again.
                    if (++nudges % 2 == 0)
                    {
                        logger.LogWarning("The rebuild of {Projection} held at event {Position} below the high-water mark; starting its agent again",
                            ActivityProjection.ProjectionName, position);
                        await StopAgentAsync(daemon);
                        await RestartAgentFromAsync(daemon, await CheckpointAsync(ct));
                    }
                    await daemon.RestartHighWaterAgentAsync(ct);
                    movedAt = DateTime.UtcNow;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
            }

            // Caught up (or stopped at a poison event the replay met again): swap the copy in at the position it reached.
            await StopAgentAsync(daemon);
            var caughtUp = await CheckpointAsync(ct);
            await ExecuteAsync(
                $"""
                ALTER SCHEMA {ActivityProjection.Schema} RENAME TO {ActivityProjection.Schema}__old;
                ALTER SCHEMA {ActivityProjection.RebuildSchema} RENAME TO {ActivityProjection.Schema};
                UPDATE projection_state SET live_position = NULL, live_failed_seq = NULL, live_error = NULL, updated_at = now()
                WHERE name = '{ActivityProjection.ProjectionName}';
                """, ct);
            await RestartAgentFromAsync(daemon, caughtUp);
            // Done once the old copy is gone too: nothing of it is left to read after the status says so.
            await ActivityProjection.DropSchemaAsync(db, $"{ActivityProjection.Schema}__old", CancellationToken.None);
            await ExecuteAsync(
                $"UPDATE projection_state SET rebuild_requested = false, cancel_requested = false, updated_at = now() WHERE name = '{ActivityProjection.ProjectionName}'",
                CancellationToken.None);
            logger.LogInformation("Projection {Projection} rebuilt and swapped in", ActivityProjection.ProjectionName);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogError(e, "Rebuilding projection {Projection} failed; the live tables go on from where they were", ActivityProjection.ProjectionName);
            await ReturnToLiveTablesAsync(e.Message, CancellationToken.None);
        }
    }

    /// <summary>
    /// Ends a rebuild that was cancelled or failed: Marten's checkpoint goes back to the live tables' position (and their
    /// stop at a poison event, if they had one) in one transaction, the agent goes on applying to them, and the copy is dropped.
    /// </summary>
    private async Task ReturnToLiveTablesAsync(string? rebuildError, CancellationToken ct)
    {
        var daemon = coordinator!.DaemonForMainDatabase();
        await StopAgentAsync(daemon);
        long live;
        await using (var connection = await db.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand(
                        $"""
                        DELETE FROM mt_event_progression
                        WHERE name = '{ChapterEventStore.ActivityShard}'
                          AND EXISTS (SELECT FROM projection_state WHERE name = '{ActivityProjection.ProjectionName}' AND live_position IS NOT NULL)
                        """),
                    new NpgsqlBatchCommand(
                        $"""
                        INSERT INTO mt_event_progression (name, last_seq_id, last_updated)
                        SELECT '{ChapterEventStore.ActivityShard}', live_position, now() FROM projection_state
                        WHERE name = '{ActivityProjection.ProjectionName}' AND live_position > 0
                        """),
                    new NpgsqlBatchCommand(
                        $"""
                        UPDATE projection_state SET
                            failed_seq = CASE WHEN live_position IS NULL THEN failed_seq ELSE live_failed_seq END,
                            error = CASE WHEN live_position IS NULL THEN error ELSE live_error END,
                            live_position = NULL, live_failed_seq = NULL, live_error = NULL, rebuild_error = $1, updated_at = now()
                        WHERE name = '{ActivityProjection.ProjectionName}'
                        """) { Parameters = { new NpgsqlParameter { Value = (object?)rebuildError ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } } },
                },
            };
            await batch.ExecuteNonQueryAsync(ct);
            await using (var checkpoint = new NpgsqlCommand(
                $"SELECT coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}'), 0)", connection, transaction))
                live = Convert.ToInt64(await checkpoint.ExecuteScalarAsync(ct));
            await transaction.CommitAsync(ct);
        }
        await RestartAgentFromAsync(daemon, live);
        // Done once the copy is gone too; until then, a node that takes over does all this again (it is idempotent).
        await ActivityProjection.DropSchemaAsync(db, ActivityProjection.RebuildSchema, ct);
        await ExecuteAsync(
            $"UPDATE projection_state SET rebuild_requested = false, cancel_requested = false, updated_at = now() WHERE name = '{ActivityProjection.ProjectionName}'", ct);
        logger.LogInformation("Projection {Projection} goes on from its live tables{Reason}", ActivityProjection.ProjectionName,
            rebuildError is null ? " (rebuild cancelled)" : " (rebuild failed)");
    }

    private async Task<(long Sequence, string Type)?> FirstUnknownEventAsync(CancellationToken ct)
    {
        await using var command = db.CreateCommand("SELECT seq_id, type FROM mt_events WHERE type <> ALL($1) ORDER BY seq_id LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter { Value = KnownEventTypes });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetString(1)) : null;
    }

    // While this node has the agent stopped for a rebuild, it no longer shows among the daemon's agents; it still leads.
    private async Task StopAgentAsync(IProjectionDaemon daemon)
    {
        _agentStoppedHere = true;
        await daemon.StopAgentAsync(ChapterEventStore.ActivityShard);
    }

    /// <summary>
    /// Starts the projection's agent again from <paramref name="floor"/>, the checkpoint just written, through the daemon's
    /// own rewind: it marks the shard restarted and registers the new agent among its own. Started by hand after a stop
    /// (StartAgentAsync), an agent was seen writing its first page with an update of a progression row it had been
    /// rewound past ("affected no rows"): the page committed, the checkpoint did not, and every later page of the copy
    /// failed on a duplicate key.
    /// </summary>
    /// <remarks>
    /// Stopping the only agent also stops the daemon's high-water detection, which the rewind does not start again: without
    /// it the agent never hears of new events.
    /// </remarks>
    private async Task RestartAgentFromAsync(IProjectionDaemon daemon, long floor)
    {
        await daemon.RewindSubscriptionAsync(ActivityProjection.ProjectionName, CancellationToken.None, floor);
        await daemon.RestartHighWaterAgentAsync(CancellationToken.None);
        _agentStoppedHere = false;
    }

    private Task<long> CheckpointAsync(CancellationToken ct) =>
        ScalarAsync($"SELECT coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}'), 0)", ct);

    private async Task<long> ScalarAsync(string sql, CancellationToken ct)
    {
        await using var command = db.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct));
    }

    private async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var command = new NpgsqlCommand(sql, connection, transaction))
            await command.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }
}
