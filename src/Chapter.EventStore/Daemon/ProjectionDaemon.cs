using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Chapter.EventStore.Daemon;

/// <summary>
/// Keeps async projections up to date. Every process may run one; for each projection exactly one
/// of them leads (PostgreSQL advisory lock) and the others stand by to take over when it dies.
/// </summary>
public sealed partial class ProjectionDaemon : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly DaemonOptions _options;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<ProjectionRunner> _runners;
    private readonly IReadOnlyList<string> _names;
    private CancellationTokenSource? _stop;
    private Task _running = Task.CompletedTask;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTime> _lastHeldBackWarning = new();

    public ProjectionDaemon(NpgsqlDataSource dataSource, EventTypeMap types, IEnumerable<IAsyncProjection> projections,
        DaemonOptions? options = null, ILogger<ProjectionDaemon>? logger = null)
    {
        _dataSource = dataSource;
        _options = options ?? new DaemonOptions();
        _logger = logger ?? NullLogger<ProjectionDaemon>.Instance;
        var log = new CommittedEvents(dataSource, types);
        var list = projections.ToList();
        foreach (var projection in list.Where(p => !ValidName().IsMatch(p.Name)))
            throw new ArgumentException($"Projection name '{projection.Name}' must be lowercase letters, digits and underscores.");
        if (list.Select(p => p.Name).Distinct().Count() != list.Count)
            throw new ArgumentException("Projection names must be unique.");
        _names = list.Select(p => p.Name).ToList();
        _runners = list.Select(p => new ProjectionRunner(p, dataSource, log, _options, _logger)).ToList();
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,40}$")]
    private static partial Regex ValidName();

    public string NodeId => _options.NodeId;

    public IReadOnlyList<string> ProjectionNames => _names;

    /// <summary>Which projections this process leads right now.</summary>
    public IReadOnlyList<string> Leading => _runners.Where(r => r.Role == RunnerRole.Leader).Select(r => r.Name).ToList();

    public RunnerRole RoleOf(string projection) => _runners.Single(r => r.Name == projection).Role;

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_stop is not null)
            throw new InvalidOperationException("The daemon is already running.");
        _stop = new CancellationTokenSource();
        var stop = _stop.Token;
        _running = Task.WhenAll(_runners.Select(runner => Task.Run(() => runner.RunAsync(stop), CancellationToken.None)));
        return Task.CompletedTask;
    }

    /// <summary>Stops every runner; their connections close, releasing their locks for the other processes.</summary>
    public async Task StopAsync()
    {
        // The host may stop its services more than once, and concurrently.
        var stop = Interlocked.Exchange(ref _stop, null);
        if (stop is null)
            return;
        await stop.CancelAsync();
        await _running;
        stop.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>Asks the leader of the projection to rebuild it from the first event, beside the live tables, then swap.</summary>
    public Task RequestRebuildAsync(string projection, CancellationToken cancellationToken = default) =>
        SetRebuildRequestedAsync(projection, true, cancellationToken);

    /// <summary>Abandons a rebuild under way; the live tables were never touched.</summary>
    public Task CancelRebuildAsync(string projection, CancellationToken cancellationToken = default) =>
        SetRebuildRequestedAsync(projection, false, cancellationToken);

    private async Task SetRebuildRequestedAsync(string projection, bool requested, CancellationToken cancellationToken)
    {
        if (!_names.Contains(projection))
            throw new ArgumentException($"No projection named '{projection}'.", nameof(projection));
        await using var command = _dataSource.CreateCommand(
            """
            INSERT INTO projection_progress (name, rebuild_requested) VALUES ($1, $2)
            ON CONFLICT (name) DO UPDATE SET rebuild_requested = $2, rebuild_error = CASE WHEN $2 THEN NULL ELSE projection_progress.rebuild_error END, updated_at = now()
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = projection });
        command.Parameters.Add(new NpgsqlParameter { Value = requested });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ProjectionStatus>> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var blocker = await FindBlockingTransactionAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand(
            """
            SELECT p.name, p.state, p.max_seq, p.applied_events, p.skipped_unknown, p.error, p.error_seq, p.leader,
                   p.rebuild_requested, p.rebuild_error, p.updated_at,
                   (SELECT count(*) FROM (SELECT 1 FROM events e WHERE (e.tx_id, e.seq_id) > (p.last_tx, p.last_seq) LIMIT 1000000) pending),
                   (SELECT extract(epoch FROM now() - e.timestamp)::float8 FROM events e
                     WHERE (e.tx_id, e.seq_id) > (p.last_tx, p.last_seq) ORDER BY e.tx_id, e.seq_id LIMIT 1)
            FROM projection_progress p
            WHERE p.name = ANY($1)
            ORDER BY p.name
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = _names.ToArray() });
        var statuses = new List<ProjectionStatus>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var lagEvents = reader.GetInt64(11);
            var state = reader.GetString(1) == "failed" ? "failed" : reader.GetBoolean(8) ? "rebuilding" : "running";
            statuses.Add(new ProjectionStatus(
                Name: reader.GetString(0),
                State: state,
                Position: reader.GetInt64(2),
                LagEvents: lagEvents,
                LagSeconds: reader.IsDBNull(12) ? 0 : Math.Max(0, Math.Round(reader.GetDouble(12), 3)),
                AppliedEvents: reader.GetInt64(3),
                SkippedUnknownEvents: reader.GetInt64(4),
                Error: reader.IsDBNull(5) ? null : reader.GetString(5),
                ErrorSequence: reader.IsDBNull(6) ? null : reader.GetInt64(6),
                Leader: reader.IsDBNull(7) ? null : reader.GetString(7),
                RebuildRequested: reader.GetBoolean(8),
                RebuildError: reader.IsDBNull(9) ? null : reader.GetString(9),
                UpdatedAt: reader.GetFieldValue<DateTimeOffset>(10),
                HeldBackBy: lagEvents > 0 ? blocker : null));
        }
        foreach (var held in statuses.Where(s => s.HeldBackBy is not null))
        {
            // Status is polled (health checks): say it once a minute, not on every poll.
            var now = DateTime.UtcNow;
            if (_lastHeldBackWarning.TryGetValue(held.Name, out var warned) && now - warned < TimeSpan.FromMinutes(1))
                continue;
            _lastHeldBackWarning[held.Name] = now;
            _logger.LogWarning("Projection {Projection} is held back by transaction of process {Pid}, open for {Age} s",
                held.Name, held.HeldBackBy!.ProcessId, held.HeldBackBy.AgeSeconds);
        }
        return statuses;
    }

    // The oldest open transaction that has written something keeps every younger event from being applied.
    private async Task<BlockingTransaction?> FindBlockingTransactionAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            """
            SELECT pid, state, extract(epoch FROM now() - xact_start)::float8
            FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() AND now() - xact_start > $1
            ORDER BY age(backend_xid) DESC
            LIMIT 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = _options.LongTransactionWarning });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new BlockingTransaction(reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1), Math.Round(reader.GetDouble(2), 1))
            : null;
    }

    /// <summary>
    /// Waits until every projection has applied every committed event up to <paramref name="sequence"/>.
    /// Throws <see cref="ProjectionFailedException"/> at once when one stopped, and <see cref="TimeoutException"/>
    /// (with every projection's status) when the time is up: it never hangs.
    /// </summary>
    public async Task WaitForAsync(long sequence, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var pause = TimeSpan.FromMilliseconds(25);
        try
        {
            while (true)
            {
                await using (var command = _dataSource.CreateCommand(
                    """
                    SELECT p.name, p.state, p.error, p.error_seq,
                           -- In commit order from the checkpoint (the index), not a scan of every event before it.
                           NOT EXISTS (SELECT 1 FROM (SELECT 1 FROM events e WHERE (e.tx_id, e.seq_id) > (p.last_tx, p.last_seq) AND e.seq_id <= $2
                                                      ORDER BY e.tx_id, e.seq_id LIMIT 1) AS pending)
                    FROM unnest($1::text[]) AS n (name)
                    LEFT JOIN projection_progress p ON p.name = n.name
                    """))
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = _names.ToArray() });
                    command.Parameters.Add(new NpgsqlParameter { Value = sequence });
                    var allCaughtUp = true;
                    await using var reader = await command.ExecuteReaderAsync(deadline.Token);
                    while (await reader.ReadAsync(deadline.Token))
                    {
                        if (reader.IsDBNull(0))
                        {
                            allCaughtUp = false;
                            continue;
                        }
                        if (reader.GetString(1) == "failed")
                            throw new ProjectionFailedException(reader.GetString(0), reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.IsDBNull(2) ? null : reader.GetString(2));
                        allCaughtUp &= reader.GetBoolean(4);
                    }
                    if (allCaughtUp)
                        return;
                }
                // Each check scans what is still to apply: ask less often the longer the wait.
                await Task.Delay(pause, deadline.Token);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 250));
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var statuses = await GetStatusAsync(CancellationToken.None);
            throw new TimeoutException(
                $"Projections did not reach event {sequence} within {timeout.TotalSeconds} s: " +
                string.Join("; ", statuses.Select(s => $"{s.Name} at {s.Position} ({s.State}, {s.LagEvents} behind{(s.HeldBackBy is { } b ? $", held back by pid {b.ProcessId}" : "")})")));
        }
    }
}
