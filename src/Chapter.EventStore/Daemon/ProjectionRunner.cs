using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Chapter.EventStore.Daemon;

public enum RunnerRole { Starting, Standby, Leader, Recovering, Stopped }

/// <summary>
/// Runs one projection: takes its leadership (a session advisory lock, so one process in the whole
/// cluster applies it), applies committed events in batches with the checkpoint in the same transaction,
/// isolates a poison event, and carries out requested rebuilds beside the live tables.
/// </summary>
internal sealed class ProjectionRunner(
    IAsyncProjection projection,
    NpgsqlDataSource dataSource,
    CommittedEvents log,
    DaemonOptions options,
    ILogger logger)
{
    private readonly string _liveSchema = $"proj_{projection.Name}";
    private readonly string _rebuildSchema = $"proj_{projection.Name}__rebuild";
    private readonly HashSet<string> _warnedUnknownTypes = [];
    private Rebuild? _rebuild;

    private sealed class Rebuild
    {
        public EventPosition Position { get; set; } = EventPosition.Start;
        public long Applied { get; set; }
        public long MaxSequence { get; set; }
    }

    private sealed record Progress(EventPosition Position, string State, bool RebuildRequested);

    private sealed class CheckpointMovedException() : Exception("The checkpoint was moved by someone else.");

    public string Name => projection.Name;

    private string SchemaHash => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(projection.SchemaSql)))[..16];
    public RunnerRole Role { get; private set; } = RunnerRole.Starting;

    public async Task RunAsync(CancellationToken stop)
    {
        var retryDelay = options.MinRetryDelay;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var lockConnection = await dataSource.OpenConnectionAsync(stop);
                if (!await TryTakeLeadershipAsync(lockConnection, stop))
                {
                    Role = RunnerRole.Standby;
                    await Task.Delay(options.StandbyPollInterval, stop);
                    continue;
                }

                Role = RunnerRole.Leader;
                logger.LogInformation("Projection {Projection}: leading on {Node}", Name, options.NodeId);
                retryDelay = options.MinRetryDelay;
                try
                {
                    await LeadAsync(lockConnection, stop);
                }
                finally
                {
                    // The connection goes back to the pool with its session, and a session lock with it:
                    // release the lock explicitly, or no other process could take over until the pool is pruned.
                    await ReleaseLeadershipAsync(lockConnection);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Whatever went wrong (database restart, network, a bug), start over from the checkpoint
                // rather than die: a daemon that silently stopped is the worst outcome.
                Role = RunnerRole.Recovering;
                _rebuild = null;
                logger.Log(IsTransient(e) ? LogLevel.Warning : LogLevel.Error, e,
                    "Projection {Projection}: {Error}; retrying in {Delay} ms", Name, e.Message, retryDelay.TotalMilliseconds);
                try { await Task.Delay(retryDelay, stop); }
                catch (OperationCanceledException) { break; }
                retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, options.MaxRetryDelay.Ticks));
            }
        }
        Role = RunnerRole.Stopped;
    }

    private async Task<bool> TryTakeLeadershipAsync(NpgsqlConnection lockConnection, CancellationToken stop)
    {
        // If this node's machine dies, the server holds the lock until it notices the dead connection:
        // with these keepalives within about 25 s, instead of the operating system's two hours.
        await using (var keepalives = new NpgsqlCommand(
            "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3", lockConnection))
            await keepalives.ExecuteNonQueryAsync(stop);
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", lockConnection);
        command.Parameters.Add(new NpgsqlParameter { Value = LockKey(projection.Name) });
        return (bool)(await command.ExecuteScalarAsync(stop))!;
    }

    private async Task ReleaseLeadershipAsync(NpgsqlConnection lockConnection)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection);
            command.Parameters.Add(new NpgsqlParameter { Value = LockKey(projection.Name) });
            await command.ExecuteScalarAsync(timeout.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or InvalidOperationException or IOException)
        {
            // A broken connection took its session, and the lock, with it.
        }
    }

    private async Task LeadAsync(NpgsqlConnection lockConnection, CancellationToken stop)
    {
        await PrepareAsync(stop);
        var nextKeepAlive = DateTime.UtcNow + options.KeepAliveInterval;

        while (!stop.IsCancellationRequested)
        {
            if (DateTime.UtcNow >= nextKeepAlive)
            {
                // Fails when the server restarted or the connection died, and the lock with it: start over.
                await using var ping = new NpgsqlCommand("SELECT 1", lockConnection);
                await ping.ExecuteScalarAsync(stop);
                nextKeepAlive = DateTime.UtcNow + options.KeepAliveInterval;
            }

            var progress = await LoadProgressAsync(stop);
            var worked = false;

            if (progress.State == "running")
                worked = await CatchUpAsync(progress.Position, stop);

            if (progress.RebuildRequested)
                worked |= await StepRebuildAsync(await LoadProgressAsync(stop), stop);
            else if (_rebuild is not null)
                await CancelRebuildAsync(stop);

            if (!worked)
                await Task.Delay(options.PollInterval, stop);
        }
    }

    /// <summary>
    /// Applies up to <see cref="CatchUpBatchesPerRound"/> batches, reading the next one while the current one
    /// is applied: it starts exactly where the current one's checkpoint will be, and is dropped if that
    /// checkpoint did not land there (a poison event, or another node moved it).
    /// </summary>
    private async Task<bool> CatchUpAsync(EventPosition from, CancellationToken stop)
    {
        var batch = await log.ReadAsync(from, null, options.BatchSize, projection.ReadsMetadata, stop);
        if (batch.Count == 0)
            return false;
        for (var round = 0; round < CatchUpBatchesPerRound && batch.Count > 0; round++)
        {
            var next = batch.Count == options.BatchSize ? log.ReadAsync(batch[^1].Position, null, options.BatchSize, projection.ReadsMetadata, stop) : null;
            EventPosition applied;
            try
            {
                applied = await ApplyLiveAsync(from, batch, stop);
            }
            catch
            {
                // The read ahead is no longer wanted; observe it so its own failure is not left unobserved.
                next?.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                throw;
            }
            if (next is null)
                break;
            var prefetched = await next;
            if (applied != batch[^1].Position)
                break;
            from = applied;
            batch = prefetched;
        }
        return true;
    }

    // Bounds a round, so keep-alives and rebuild requests are seen while a long backlog is applied.
    private const int CatchUpBatchesPerRound = 20;

    private async Task PrepareAsync(CancellationToken stop)
    {
        await using var connection = await dataSource.OpenConnectionAsync(stop);
        await using var transaction = await connection.BeginTransactionAsync(stop);
        await ExecuteAsync(connection, "INSERT INTO projection_progress (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", stop, Name);
        await ExecuteAsync(connection, "UPDATE projection_progress SET leader = $2, updated_at = now() WHERE name = $1", stop, Name, options.NodeId);
        await using (var exists = new NpgsqlCommand("SELECT count(*) FROM pg_namespace WHERE nspname = $1", connection))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = _liveSchema });
            if ((long)(await exists.ExecuteScalarAsync(stop))! == 0)
            {
                await CreateSchemaAsync(connection, _liveSchema, stop);
                await ExecuteAsync(connection, "UPDATE projection_progress SET schema_hash = $2 WHERE name = $1", stop, Name, SchemaHash);
            }
        }
        // Tables built by another version of the projection: rebuild them beside the live ones, then swap.
        await using (var outdated = new NpgsqlCommand(
            """
            UPDATE projection_progress SET rebuild_requested = true, rebuild_error = NULL
            WHERE name = $1 AND schema_hash IS DISTINCT FROM $2 AND NOT rebuild_requested
            """, connection))
        {
            outdated.Parameters.Add(new NpgsqlParameter { Value = Name });
            outdated.Parameters.Add(new NpgsqlParameter { Value = SchemaHash });
            if (await outdated.ExecuteNonQueryAsync(stop) > 0)
                logger.LogWarning("Projection {Projection}: its tables were built by another version; rebuilding them", Name);
        }
        // A rebuild left half done by a leader that died is started again from scratch.
        await ExecuteAsync(connection, $"DROP SCHEMA IF EXISTS {_rebuildSchema} CASCADE", stop);
        await transaction.CommitAsync(stop);
        _rebuild = null;
    }

    // Projection writes can always be derived again from the events, and their checkpoint commits with
    // them: a crash can only lose the latest batches together with their checkpoint, which are then
    // applied again. So the commit need not wait for the disk.
    private static string ProjectionTransactionSettings(string schema) =>
        $"SET LOCAL search_path = {schema}, public; SET LOCAL synchronous_commit = off";

    private async Task CreateSchemaAsync(NpgsqlConnection connection, string schema, CancellationToken stop)
    {
        await ExecuteAsync(connection, $"CREATE SCHEMA {schema}", stop);
        await ExecuteAsync(connection, $"SET LOCAL search_path = {schema}, public", stop);
        await ExecuteAsync(connection, projection.SchemaSql, stop);
    }

    private async Task<Progress> LoadProgressAsync(CancellationToken stop)
    {
        await using var command = dataSource.CreateCommand("SELECT last_tx, last_seq, state, rebuild_requested FROM projection_progress WHERE name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = Name });
        await using var reader = await command.ExecuteReaderAsync(stop);
        if (!await reader.ReadAsync(stop))
            throw new InvalidOperationException($"No progress row for projection '{Name}'.");
        return new Progress(new EventPosition(reader.GetFieldValue<ulong>(0), reader.GetInt64(1)), reader.GetString(2), reader.GetBoolean(3));
    }

    /// <returns>The position the checkpoint reached.</returns>
    private async Task<EventPosition> ApplyLiveAsync(EventPosition from, IReadOnlyList<PositionedEvent> batch, CancellationToken stop)
    {
        try
        {
            await ApplyLiveBatchAsync(from, batch, stop);
            return batch[^1].Position;
        }
        catch (CheckpointMovedException)
        {
            logger.LogWarning("Projection {Projection}: the checkpoint moved under this node; nothing was applied twice", Name);
            return from;
        }
        catch (Exception e) when (!IsTransient(e) && e is not OperationCanceledException)
        {
            // Find the one event that fails: apply the batch one event at a time.
            var position = from;
            foreach (var item in batch)
            {
                try
                {
                    await ApplyLiveBatchAsync(position, [item], stop);
                    position = item.Position;
                }
                catch (Exception poison) when (!IsTransient(poison) && poison is not OperationCanceledException and not CheckpointMovedException)
                {
                    await MarkFailedAsync(item.Event, poison, stop);
                    return position;
                }
            }
            return position;
        }
    }

    private async Task ApplyLiveBatchAsync(EventPosition from, IReadOnlyList<PositionedEvent> batch, CancellationToken stop)
    {
        var known = batch.Where(e => e.Event.Data is not UnknownEvent).Select(e => e.Event).ToList();
        var unknown = batch.Count - known.Count;
        foreach (var skipped in batch.Select(e => e.Event).Where(e => e.Data is UnknownEvent && _warnedUnknownTypes.Add(e.TypeName)))
            logger.LogWarning("Projection {Projection}: skipping events of unknown type {Type} (first at {Sequence}); a newer version wrote them", Name, skipped.TypeName, skipped.Sequence);

        await using var connection = await dataSource.OpenConnectionAsync(stop);
        await using var transaction = await connection.BeginTransactionAsync(stop);
        await ExecuteAsync(connection, ProjectionTransactionSettings(_liveSchema), stop);

        // The checkpoint moves first: its row stays locked until commit, so a node whose checkpoint was moved
        // by another (it lost its lock without knowing yet) stops here, before writing anything the other
        // already wrote, and projections need not make every write idempotent to survive that.
        var to = batch[^1].Position;
        await using var checkpoint = new NpgsqlCommand(
            """
            UPDATE projection_progress
            SET last_tx = $3, last_seq = $4, max_seq = greatest(max_seq, $8), applied_events = applied_events + $5,
                skipped_unknown = skipped_unknown + $6, updated_at = now()
            WHERE name = $1 AND last_tx = $2 AND last_seq = $7
            """, connection);
        checkpoint.Parameters.Add(new NpgsqlParameter { Value = Name });
        checkpoint.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = from.TransactionId });
        checkpoint.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = to.TransactionId });
        checkpoint.Parameters.Add(new NpgsqlParameter { Value = to.Sequence });
        checkpoint.Parameters.Add(new NpgsqlParameter { Value = (long)known.Count });
        checkpoint.Parameters.Add(new NpgsqlParameter { Value = (long)unknown });
        checkpoint.Parameters.Add(new NpgsqlParameter { Value = from.Sequence });
        checkpoint.Parameters.Add(new NpgsqlParameter { Value = batch.Max(e => e.Event.Sequence) });
        if (await checkpoint.ExecuteNonQueryAsync(stop) != 1)
            throw new CheckpointMovedException();
        if (known.Count > 0)
            await projection.ApplyAsync(connection, known, stop);
        await transaction.CommitAsync(stop);
    }

    private async Task MarkFailedAsync(RecordedEvent poison, Exception error, CancellationToken stop)
    {
        var message = $"{error.GetType().Name}: {error.Message}";
        if (message.Length > 1000)
            message = message[..1000];
        logger.LogError(error, "Projection {Projection} stopped at event {Sequence} ({Type}) in stream {Stream}", Name, poison.Sequence, poison.TypeName, poison.StreamId);
        await using var connection = await dataSource.OpenConnectionAsync(stop);
        await ExecuteAsync(connection,
            "UPDATE projection_progress SET state = 'failed', error = $2, error_seq = $3, updated_at = now() WHERE name = $1",
            stop, Name, message, poison.Sequence);
    }

    /// <returns>Whether it did any work.</returns>
    private async Task<bool> StepRebuildAsync(Progress live, CancellationToken stop)
    {
        try
        {
            if (_rebuild is null)
            {
                await using var connection = await dataSource.OpenConnectionAsync(stop);
                await using var transaction = await connection.BeginTransactionAsync(stop);
                await ExecuteAsync(connection, $"DROP SCHEMA IF EXISTS {_rebuildSchema} CASCADE", stop);
                await CreateSchemaAsync(connection, _rebuildSchema, stop);
                await transaction.CommitAsync(stop);
                _rebuild = new Rebuild();
                logger.LogInformation("Projection {Projection}: rebuild started", Name);
            }

            // Chase the live projection (or, when it stopped at a poison event, the head of the log),
            // then swap the rebuilt tables in at exactly the live position.
            var bound = live.State == "failed" ? (EventPosition?)null : live.Position;
            var batch = await log.ReadAsync(_rebuild.Position, bound, options.BatchSize, projection.ReadsMetadata, stop);
            if (batch.Count == 0)
            {
                await SwapAsync(live.Position, stop);
                return true;
            }

            var unknown = batch.FirstOrDefault(e => e.Event.Data is UnknownEvent);
            if (unknown is not null)
                throw new UnknownEventTypeException(unknown.Event.TypeName);

            await using (var connection = await dataSource.OpenConnectionAsync(stop))
            await using (var transaction = await connection.BeginTransactionAsync(stop))
            {
                await ExecuteAsync(connection, ProjectionTransactionSettings(_rebuildSchema), stop);
                await projection.ApplyAsync(connection, batch.Select(e => e.Event).ToList(), stop);
                await transaction.CommitAsync(stop);
            }
            _rebuild.Position = batch[^1].Position;
            _rebuild.Applied += batch.Count;
            _rebuild.MaxSequence = Math.Max(_rebuild.MaxSequence, batch.Max(e => e.Event.Sequence));
            return true;
        }
        catch (Exception e) when (!IsTransient(e) && e is not OperationCanceledException)
        {
            logger.LogError(e, "Projection {Projection}: rebuild failed", Name);
            await using var connection = await dataSource.OpenConnectionAsync(stop);
            await ExecuteAsync(connection, $"DROP SCHEMA IF EXISTS {_rebuildSchema} CASCADE", stop);
            await ExecuteAsync(connection,
                "UPDATE projection_progress SET rebuild_requested = false, rebuild_error = $2, updated_at = now() WHERE name = $1",
                stop, Name, $"{e.GetType().Name}: {e.Message}");
            _rebuild = null;
            return false;
        }
    }

    private async Task SwapAsync(EventPosition livePosition, CancellationToken stop)
    {
        await using var connection = await dataSource.OpenConnectionAsync(stop);
        await using var transaction = await connection.BeginTransactionAsync(stop);
        await using (var checkpoint = new NpgsqlCommand(
            """
            UPDATE projection_progress
            SET last_tx = $3, last_seq = $4, max_seq = $7, applied_events = $5, skipped_unknown = 0, state = 'running', error = NULL, error_seq = NULL,
                rebuild_requested = false, rebuild_error = NULL, schema_hash = $8, updated_at = now()
            WHERE name = $1 AND last_tx = $2 AND last_seq = $6
            """, connection))
        {
            var rebuilt = _rebuild!;
            checkpoint.Parameters.Add(new NpgsqlParameter { Value = Name });
            checkpoint.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = livePosition.TransactionId });
            checkpoint.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Xid8, Value = rebuilt.Position.TransactionId });
            checkpoint.Parameters.Add(new NpgsqlParameter { Value = rebuilt.Position.Sequence });
            checkpoint.Parameters.Add(new NpgsqlParameter { Value = rebuilt.Applied });
            checkpoint.Parameters.Add(new NpgsqlParameter { Value = livePosition.Sequence });
            checkpoint.Parameters.Add(new NpgsqlParameter { Value = rebuilt.MaxSequence });
            checkpoint.Parameters.Add(new NpgsqlParameter { Value = SchemaHash });
            if (await checkpoint.ExecuteNonQueryAsync(stop) != 1)
                throw new CheckpointMovedException();
        }
        await ExecuteAsync(connection, $"ALTER SCHEMA {_liveSchema} RENAME TO {_liveSchema}__old", stop);
        await ExecuteAsync(connection, $"ALTER SCHEMA {_rebuildSchema} RENAME TO {_liveSchema}", stop);
        await ExecuteAsync(connection, $"DROP SCHEMA {_liveSchema}__old CASCADE", stop);
        await transaction.CommitAsync(stop);
        logger.LogInformation("Projection {Projection}: rebuilt from {Count} events and swapped in", Name, _rebuild!.Applied);
        _rebuild = null;
    }

    private async Task CancelRebuildAsync(CancellationToken stop)
    {
        await using var connection = await dataSource.OpenConnectionAsync(stop);
        await ExecuteAsync(connection, $"DROP SCHEMA IF EXISTS {_rebuildSchema} CASCADE", stop);
        _rebuild = null;
        logger.LogInformation("Projection {Projection}: rebuild cancelled; the live tables are untouched", Name);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken stop, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        await command.ExecuteNonQueryAsync(stop);
    }

    internal static bool IsTransient(Exception e) => e switch
    {
        NpgsqlException { IsTransient: true } => true,
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" or "55P03" } => true,
        NpgsqlException { InnerException: IOException or SocketException or TimeoutException } => true,
        IOException or SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>A stable 64-bit advisory lock key per projection (FNV-1a of its name).</summary>
    internal static long LockKey(string name)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in "chapter.projection:" + name)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return unchecked((long)hash);
    }
}
