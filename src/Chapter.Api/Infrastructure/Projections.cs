using System.Diagnostics.Metrics;
using System.Text.Json;
using Chapter.Projections;
using Chapter.Projections.Activity;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Wolverine.Runtime;

namespace Chapter.Api.Infrastructure;

/// <summary>What an operator needs to know about one async projection.</summary>
/// <param name="Database">The database whose events it applies: each database has its own log, positions and projection.</param>
/// <param name="State">running, failed (stopped at a poison event), rebuilding (running, with a rebuild under way), or unavailable (its database does not answer).</param>
/// <param name="Position">The highest sequence number applied to the tables reads come from.</param>
/// <param name="LagEvents">Committed events not applied to those tables yet (counted up to 1,000,000).</param>
/// <param name="LagSeconds">Age of the oldest committed event not applied yet; 0 when caught up.</param>
/// <param name="Leader">The node applying it, when it is this one.</param>
/// <param name="RebuildError">Why the rebuild under way stopped (the live tables are kept until it is cancelled).</param>
/// <param name="UpdatedAt">When Marten last recorded the projection's progress or state.</param>
/// <param name="RebuildPosition">How far a rebuild under way has got: the highest sequence applied to the copy.</param>
/// <param name="HeldBackBy">An open transaction that keeps committed events from being applied, if any.</param>
public sealed record ProjectionStatus(
    string Name,
    string Database,
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
    DateTimeOffset? UpdatedAt,
    long? RebuildPosition,
    BlockingTransaction? HeldBackBy);

public sealed record BlockingTransaction(int ProcessId, string? State, double AgeSeconds);

/// <summary>A projection stopped at an event it could not apply.</summary>
public sealed class ProjectionFailedException(string projection, long? sequence, string? error)
    : Exception($"Projection '{projection}' stopped at event {sequence}: {error}");

/// <summary>Why a rebuild was not started.</summary>
public sealed record RebuildRefusal(string Detail);

public static class Projections
{
    /// <summary>Where Marten's daemon says, every ~250 ms at Information, that it holds before an open transaction's gap.</summary>
    public const string DaemonCoordinatorLog = "Marten.Events.Daemon.ProjectionDaemon";

    public static void AddChapterProjections(this WebApplicationBuilder builder)
    {
        // That hold is the status's heldBackBy and /health's Degraded, and a warning once a minute: not four lines a second.
        builder.Logging.AddFilter(DaemonCoordinatorLog, LogLevel.Warning);
        builder.Services.AddSingleton<AsyncProjections>(services =>
        {
            var projections = ActivatorUtilities.CreateInstance<AsyncProjections>(services);
            projections.RegisterMeters(services.GetRequiredService<IMeterFactory>());
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
                    return HealthCheckResult.Degraded(string.Join("; ", failed.Select(s =>
                        $"projection '{s.Name}'{(s.RebuildRequested ? "'s rebuild" : "")} stopped at event {s.ErrorSequence}: {s.Error}")));
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
/// The async projections as operators see them, read in one place: Marten's progression and why a projection stopped
/// (extended progression tracking), the position kept with the projection's own tables, and the events after it; and
/// rebuilds, asked of the node Wolverine runs the projection's agent on (<see cref="ActivityAgentCommand"/>).
/// </summary>
public sealed class AsyncProjections(
    ChapterDatabases databases, IDocumentStore store, IWolverineRuntime wolverine, ILogger<AsyncProjections> logger) : BackgroundService
{
    public static readonly IReadOnlyList<string> Names = [ActivityProjection.ProjectionName];
    private static readonly string[] KnownEventTypes = [.. Chapter.Domain.EventNames.All.Values];
    private static readonly TimeSpan LongTransaction = TimeSpan.FromSeconds(2);
    private DateTime _lastHeldBackWarning = DateTime.MinValue;
    private static readonly TimeSpan MeasureEvery = TimeSpan.FromSeconds(5);
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(MeasureEvery, stoppingToken);
                _measured = await GetStatusAsync(stoppingToken, countEvents: false);
                var counts = await wolverine.Storage.Admin.FetchCountsAsync();
                Interlocked.Exchange(ref _outboxDepth, counts.Incoming + counts.Scheduled + counts.Outgoing);
                Interlocked.Exchange(ref _deadLetters, counts.DeadLetter);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Could not measure the projections and the outbox: {Error}", e.Message);
            }
        }
    }

    /// <param name="countEvents">
    /// Count the events applied and skipped: a scan of the log up to the position, for the operator's status page; health
    /// checks and waits go without (their counts read 0).
    /// </param>
    public async Task<IReadOnlyList<ProjectionStatus>> GetStatusAsync(CancellationToken ct, bool countEvents = true)
    {
        var statuses = new List<ProjectionStatus>();
        foreach (var database in await databases.AllAsync())
        {
            try
            {
                statuses.AddRange(await GetStatusAsync(database, ct, countEvents));
            }
            // With several databases, one that does not answer is one line of the status; with one, the status is unavailable.
            catch (Exception e) when (databases.AreSeveral && e is NpgsqlException or TimeoutException)
            {
                statuses.Add(new ProjectionStatus(ActivityProjection.ProjectionName, database.Name, "unavailable", 0, 0, 0, 0, 0,
                    "The database does not answer.", null, null, false, null, null, null, null));
            }
        }
        return statuses;
    }

    public async Task<IReadOnlyList<ProjectionStatus>> GetStatusAsync(ChapterDatabase db, CancellationToken ct, bool countEvents = true)
    {
        var martenDatabase = await databases.MartenDatabaseAsync(db);
        var tables = await ActivityTables.ReadAsync(db, ct);
        var shard = (await martenDatabase.AllProjectionProgress(ct)).FirstOrDefault(s => s.ShardName == ChapterEventStore.ActivityShard);
        // Marten keeps why a shard stopped with its progression row; a shard stopped in its very first page has no row yet,
        // and then only the node running its agent knows.
        // Wolverine runs one agent per database: its URI names the database by Marten's id.
        var agentDatabase = databases.AreSeveral ? martenDatabase.Id.ToString() : null;
        var failure = shard?.Failure ?? ActivityAgentCommand.LocalFailure(wolverine, agentDatabase);
        // Paused is Marten's word for stopped at a failure; an agent merely stopped (its node shut down) is not failed, only not
        // applying until another node takes it, which the lag shows.
        var stopped = failure is not null || shard?.AgentStatus == "Paused";

        await using var session = store.QuerySession(Marten.Services.SessionOptions.ForDatabase(martenDatabase));
        var events = session.Events.QueryAllRawEvents().Where(e => e.AnyTenant());
        var position = tables.LivePosition;
        var lagEvents = await events.Where(e => e.Sequence > position).Take(1_000_000).CountAsync(ct);
        var oldestPending = lagEvents == 0 ? null
            : (await events.Where(e => e.Sequence > position).OrderBy(e => e.Sequence).Take(1).Select(e => e.Timestamp).ToListAsync(ct)).Cast<DateTimeOffset?>().FirstOrDefault();
        var applied = countEvents ? await events.Where(e => e.Sequence <= position).CountAsync(ct) : 0;
        // Marten's daemon skips events of a type this version does not know (written by a newer one): count them.
        var skipped = countEvents ? await events.Where(e => e.Sequence <= position && !e.EventTypeName.IsOneOf(KnownEventTypes)).CountAsync(ct) : 0;

        var error = stopped ? failure?.Message ?? Reason(shard?.PauseReason) ?? $"agent {shard?.AgentStatus}" : null;
        var status = new ProjectionStatus(
            Name: ActivityProjection.ProjectionName,
            Database: db.Name,
            State: stopped ? "failed" : tables.RebuildPosition is not null ? "rebuilding" : "running",
            Position: position,
            LagEvents: lagEvents,
            LagSeconds: oldestPending is { } oldest ? Math.Max(0, Math.Round((DateTimeOffset.UtcNow - oldest).TotalSeconds, 3)) : 0,
            AppliedEvents: applied,
            SkippedUnknownEvents: skipped,
            Error: error,
            ErrorSequence: stopped ? failure?.Event?.Sequence : null,
            Leader: ActivityAgentCommand.RunsHere(wolverine, agentDatabase) ? $"{Environment.MachineName}:{Environment.ProcessId}" : null,
            RebuildRequested: tables.RebuildPosition is not null,
            RebuildError: tables.RebuildPosition is not null ? error : null,
            UpdatedAt: shard?.LastUpdated ?? shard?.Timestamp,
            RebuildPosition: tables.RebuildPosition,
            HeldBackBy: null);
        if (lagEvents > 0 && await FindBlockingTransactionAsync(db, ct) is { } blocker)
        {
            status = status with { HeldBackBy = blocker };
            if (DateTime.UtcNow - _lastHeldBackWarning > TimeSpan.FromMinutes(1))
            {
                // Status is polled (health checks): say it once a minute, not on every poll.
                _lastHeldBackWarning = DateTime.UtcNow;
                logger.LogWarning("Async projections are held back by the transaction of process {Pid}, open for {Age} s", blocker.ProcessId, blocker.AgeSeconds);
            }
        }
        return [status];
    }

    /// <summary>
    /// The innermost exception's line of what Marten recorded as the pause's reason (an exception's text, with its stack,
    /// when read back from the progression): operators get why, not where in the code.
    /// </summary>
    private static string? Reason(string? pauseReason) =>
        pauseReason?.Split('\n').Select(l => l.Trim()).TakeWhile(l => !l.StartsWith("at ", StringComparison.Ordinal) && !l.StartsWith("--- End", StringComparison.Ordinal))
            .LastOrDefault()?.TrimStart('-', '>', ' ');

    // Marten's daemon does not pass a sequence number whose transaction may still commit: the oldest open
    // transaction that has written something holds every younger event back.
    private static async Task<BlockingTransaction?> FindBlockingTransactionAsync(ChapterDatabase db, CancellationToken ct)
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

    /// <summary>
    /// Waits until every async projection has applied every event up to <paramref name="sequence"/>. Throws
    /// <see cref="ProjectionFailedException"/> at once when one stopped, and <see cref="TimeoutException"/> (with
    /// each projection's status) when the time is up: it never hangs.
    /// </summary>
    public Task WaitForAsync(long sequence, TimeSpan timeout, CancellationToken ct = default) => WaitForAsync(databases.Main, sequence, timeout, ct);

    /// <summary>Waits until the projection of this database has applied its events up to <paramref name="sequence"/> (a sequence number of that database's).</summary>
    public async Task WaitForAsync(ChapterDatabase database, long sequence, TimeSpan timeout, CancellationToken ct = default)
    {
        var until = DateTime.UtcNow + timeout;
        var pause = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var statuses = await GetStatusAsync(database, ct, countEvents: false);
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

    /// <summary>
    /// Starts a rebuild beside the live tables (nothing when one is under way), on the node that runs the projection's agent.
    /// Refused when the log holds an event of a type this version does not know: Marten's daemon skips such events, and a
    /// copy without one would be a copy with a hole.
    /// </summary>
    public async Task<RebuildRefusal?> RebuildAsync(ChapterDatabase database, CancellationToken ct)
    {
        var martenDatabase = await databases.MartenDatabaseAsync(database);
        await using var session = store.QuerySession(Marten.Services.SessionOptions.ForDatabase(martenDatabase));
        var events = session.Events.QueryAllRawEvents().Where(e => e.AnyTenant());
        var unknown = await events.Where(e => !e.EventTypeName.IsOneOf(KnownEventTypes))
            .OrderBy(e => e.Sequence).Take(1).Select(e => new { e.Sequence, e.EventTypeName }).ToListAsync(ct);
        if (unknown.Count > 0)
            return new RebuildRefusal(
                $"Event {unknown[0].Sequence} is of type '{unknown[0].EventTypeName}', which this version does not know: a rebuild would leave it out. " +
                "Deploy the version that knows it, then rebuild.");
        // The copy takes the live tables' place once it has every event committed now, even those the live tables wait for.
        var end = await events.OrderByDescending(e => e.Sequence).Take(1).Select(e => e.Sequence).ToListAsync(ct);
        return await ActivityAgentCommand.SendAsync(wolverine, AgentCommand(ActivityAgentCommand.Rebuild, database, martenDatabase, end.FirstOrDefault()), ct);
    }

    /// <summary>With several databases, the command names the database, and the agent it is for by Marten's id of it.</summary>
    private ActivityAgentCommand AgentCommand(string action, ChapterDatabase database, Marten.Storage.IMartenDatabase martenDatabase, long rebuildUntil = 0) =>
        databases.AreSeveral
            ? new ActivityAgentCommand(action, rebuildUntil, database.Name, martenDatabase.Id.ToString())
            : new ActivityAgentCommand(action, rebuildUntil);

    /// <summary>Cancels the rebuild under way: the live tables go on from where they were, and the copy is dropped.</summary>
    public async Task<RebuildRefusal?> CancelRebuildAsync(ChapterDatabase database, CancellationToken ct) =>
        (await ActivityTables.ReadAsync(database, ct)).RebuildPosition is null
            ? new RebuildRefusal($"No rebuild of '{ActivityProjection.ProjectionName}' is under way{(databases.AreSeveral ? $" in database '{database.Name}'" : "")}.")
            : await ActivityAgentCommand.SendAsync(wolverine, AgentCommand(ActivityAgentCommand.Cancel, database, await databases.MartenDatabaseAsync(database)), ct);
}

/// <summary>Where the activity projection's live tables and a rebuild's copy stand (their own positions).</summary>
public sealed record ActivityTables(long LivePosition, long? RebuildPosition)
{
    public static async Task<ActivityTables> ReadAsync(ChapterDatabase db, CancellationToken ct)
    {
        await using var command = db.CreateCommand($"SELECT position, rebuild_position FROM {ActivityProjection.Schema}.applied");
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new ActivityTables(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1))
            : new ActivityTables(0, null);
    }
}
