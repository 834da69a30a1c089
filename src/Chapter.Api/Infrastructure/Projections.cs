using System.Text.Json;
using Chapter.Projections;
using Chapter.Projections.Activity;
using JasperFx.Events.Daemon;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Chapter.Api.Infrastructure;

/// <summary>What an operator needs to know about one async projection.</summary>
/// <param name="State">running, failed (stopped at a poison event), or rebuilding (running, with a rebuild under way).</param>
/// <param name="Position">The highest sequence number applied.</param>
/// <param name="LagEvents">Committed events not applied yet (counted up to 1,000,000).</param>
/// <param name="LagSeconds">Age of the oldest committed event not applied yet; 0 when caught up.</param>
/// <param name="Leader">The node applying it, when it is this one.</param>
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
    BlockingTransaction? HeldBackBy);

public sealed record BlockingTransaction(int ProcessId, string? State, double AgeSeconds);

/// <summary>A projection stopped at an event it could not apply.</summary>
public sealed class ProjectionFailedException(string projection, long? sequence, string? error)
    : Exception($"Projection '{projection}' stopped at event {sequence}: {error}");

public static class Projections
{
    /// <summary>Status, rebuilds and health of the async projections Marten's daemon runs.</summary>
    /// <summary>Where Marten's daemon says, every ~250 ms at Information, that it holds before an open transaction's gap.</summary>
    public const string DaemonCoordinatorLog = "Marten.Events.Daemon.Coordination.ProjectionCoordinator";

    public static void AddChapterProjections(this WebApplicationBuilder builder)
    {
        // That hold is the status's heldBackBy and /health's Degraded, and a warning once a minute: not four lines a second.
        builder.Logging.AddFilter(DaemonCoordinatorLog, LogLevel.Warning);
        builder.Services.AddSingleton<AsyncProjections>();
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
public sealed class AsyncProjections(
    NpgsqlDataSource db, ActivityProjection activity, IProjectionCoordinator coordinator, ILogger<AsyncProjections> logger) : BackgroundService
{
    public static readonly IReadOnlyList<string> Names = [ActivityProjection.ProjectionName];
    private static readonly string[] KnownEventTypes = [.. Chapter.Domain.EventNames.All.Values];
    private static readonly TimeSpan LongTransaction = TimeSpan.FromSeconds(2);
    private readonly string _node = $"{Environment.MachineName}:{Environment.ProcessId}";
    private DateTime _lastHeldBackWarning = DateTime.MinValue;

    public async Task RequestRebuildAsync(string projection, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "UPDATE projection_state SET rebuild_requested = true, rebuild_error = NULL, error = CASE WHEN failed_seq IS NULL THEN NULL ELSE error END, updated_at = now() WHERE name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = projection });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <param name="countEvents">
    /// Count the events applied and skipped: a scan of the log up to the position, for the operator's status page; health
    /// checks and waits go without (their counts read 0).
    /// </param>
    public async Task<IReadOnlyList<ProjectionStatus>> GetStatusAsync(CancellationToken ct, bool countEvents = true)
    {
        await using var command = db.CreateCommand(
            """
            WITH p AS (
                SELECT s.name, s.failed_seq, s.error, s.rebuild_requested, s.rebuild_error, s.updated_at,
                       least(coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = s.name || ':All'), 0),
                             coalesce(s.failed_seq - 1, 9223372036854775807)) AS position
                FROM projection_state s WHERE s.name = ANY($1))
            SELECT p.name, p.failed_seq, p.error, p.rebuild_requested, p.rebuild_error, p.updated_at, p.position,
                   (SELECT count(*) FROM (SELECT 1 FROM mt_events e WHERE e.seq_id > p.position LIMIT 1000000) pending),
                   (SELECT extract(epoch FROM now() - e.timestamp)::float8 FROM mt_events e WHERE e.seq_id > p.position ORDER BY e.seq_id LIMIT 1),
                   CASE WHEN $3 THEN (SELECT count(*) FROM mt_events e WHERE e.seq_id <= p.position) ELSE 0 END,
                   -- Marten's daemon skips events of a type this version does not know (written by a newer one): count them.
                   CASE WHEN $3 THEN (SELECT count(*) FROM mt_events e WHERE e.seq_id <= p.position AND e.type <> ALL($2)) ELSE 0 END
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
                // Stopped at a poison event, or after a rebuild that failed (its agent stays stopped until a rebuild succeeds).
                var failed = !reader.IsDBNull(1) || !reader.IsDBNull(4);
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
            WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() AND now() - xact_start > $1
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
        coordinator.DaemonForMainDatabase().CurrentAgents().Any(a => a.Name.Identity == $"{projection}:All");

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
                if (LeadsHere(ActivityProjection.ProjectionName) && await RebuildRequestedAsync(stoppingToken))
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

    private async Task<bool> RebuildRequestedAsync(CancellationToken ct)
    {
        await using var command = db.CreateCommand("SELECT rebuild_requested FROM projection_state WHERE name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = ActivityProjection.ProjectionName });
        return await command.ExecuteScalarAsync(ct) is true;
    }

    private async Task RebuildActivityAsync(CancellationToken ct)
    {
        var daemon = coordinator.DaemonForMainDatabase();
        logger.LogInformation("Rebuilding projection {Projection} beside the live tables", ActivityProjection.ProjectionName);
        try
        {
            await ActivityProjection.DropSchemaAsync(db, ActivityProjection.RebuildSchema, ct);
            await ExecuteAsync(
                $"""
                CREATE SCHEMA {ActivityProjection.RebuildSchema};
                SET LOCAL search_path TO {ActivityProjection.RebuildSchema};
                {ActivityProjection.SchemaSql}
                """, ct);
            // Replay every event from the first into the copy while the live tables keep serving. A stop at a poison event
            // recorded by the live run is cleared: the replay meets the event again, and stops again if it is still poison.
            // The live agent stops first, so no page of it lands in the copy.
            await daemon.StopAgentAsync(ChapterEventStore.ActivityShard);
            await ExecuteAsync("UPDATE projection_state SET failed_seq = NULL, error = NULL WHERE name = 'activity'", ct);
            activity.TargetSchema = ActivityProjection.RebuildSchema;
            var target = await ScalarAsync("SELECT coalesce(max(seq_id), 0) FROM mt_events", ct);
            await daemon.RewindSubscriptionAsync(ActivityProjection.ProjectionName, ct, sequenceFloor: 0);
            // Seen here: after the agent was stopped and rewound, the high-water mark stayed where it was (and the rebuild
            // waited for ever while events kept coming) until its agent was restarted.
            await daemon.RestartHighWaterAgentAsync(ct);
            while (await ScalarAsync($"SELECT coalesce((SELECT last_seq_id FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}'), 0)", ct) < target
                   && await ScalarAsync("SELECT count(*) FROM projection_state WHERE name = 'activity' AND failed_seq IS NOT NULL", ct) == 0)
                await Task.Delay(TimeSpan.FromMilliseconds(100), ct);

            // Caught up (or stopped at a poison event the replay met again): swap the copy in at the position it reached.
            await daemon.StopAgentAsync(ChapterEventStore.ActivityShard);
            await ExecuteAsync(
                $"""
                ALTER SCHEMA {ActivityProjection.Schema} RENAME TO {ActivityProjection.Schema}__old;
                ALTER SCHEMA {ActivityProjection.RebuildSchema} RENAME TO {ActivityProjection.Schema};
                """, ct);
            activity.TargetSchema = ActivityProjection.Schema;
            await daemon.StartAgentAsync(ChapterEventStore.ActivityShard, CancellationToken.None);
            // Done once the old copy is gone too: nothing of it is left to read after the status says so.
            await ActivityProjection.DropSchemaAsync(db, $"{ActivityProjection.Schema}__old", CancellationToken.None);
            await ExecuteAsync("UPDATE public.projection_state SET rebuild_requested = false, updated_at = now() WHERE name = 'activity'", CancellationToken.None);
            logger.LogInformation("Projection {Projection} rebuilt and swapped in", ActivityProjection.ProjectionName);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Marten's checkpoint may now point into the half-built copy, so the live tables must not be applied to from
            // it: the projection stays stopped, and says so, until a rebuild succeeds.
            activity.TargetSchema = ActivityProjection.Schema;
            await daemon.StopAgentAsync(ChapterEventStore.ActivityShard);
            logger.LogError(e, "Rebuilding projection {Projection} failed; it stays stopped until a rebuild succeeds", ActivityProjection.ProjectionName);
            await using var record = db.CreateCommand(
                "UPDATE projection_state SET rebuild_requested = false, rebuild_error = $1, error = $2, updated_at = now() WHERE name = 'activity'");
            record.Parameters.Add(new NpgsqlParameter { Value = e.Message });
            record.Parameters.Add(new NpgsqlParameter { Value = $"rebuild failed: {e.Message}" });
            await record.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

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
