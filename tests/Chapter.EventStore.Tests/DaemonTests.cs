using Chapter.EventStore.Daemon;
using Chapter.LocalPostgres;
using Npgsql;

namespace Chapter.EventStore.Tests;

// The daemon reads below the oldest open transaction of the whole server, so these tests run alone:
// another class's open transaction would only slow them, but a lone run keeps timings honest.
[CollectionDefinition("daemon", DisableParallelization = true)]
public sealed class DaemonCollection;

/// <summary>../shared/EVENTSTORE.md tests 4–15, against real PostgreSQL.</summary>
[Collection("daemon")]
public sealed class DaemonTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private DaemonFixture _db = null!;

    public async Task InitializeAsync() => _db = await DaemonFixture.CreateAsync();
    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Projects_every_committed_event_once_and_reports_no_lag()
    {
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("recording"));
        var last = await _db.AppendAsync(250);

        await daemon.WaitForAsync(last, Patience);

        await _db.ShouldMatchTheLogAsync("recording");
        var status = (await daemon.GetStatusAsync()).ShouldHaveSingleItem();
        status.State.ShouldBe("running");
        status.Position.ShouldBe(last);
        status.LagEvents.ShouldBe(0);
        status.LagSeconds.ShouldBe(0);
        status.AppliedEvents.ShouldBe(250);
        status.Leader.ShouldBe("node-a");
    }

    [Fact]
    public async Task Only_a_projection_that_asks_for_metadata_reads_it()
    {
        var seen = new Dictionary<string, List<string?>> { ["with_metadata"] = [], ["without_metadata"] = [] };
        RecordingProjection Recording(string name, bool readsMetadata) => new(name)
        {
            ReadsMetadata = readsMetadata,
            BeforeBatch = (_, events) => { lock (seen) seen[name].AddRange(events.Select(e => e.Metadata.ActorId)); return Task.CompletedTask; },
        };
        var last = (await _db.Store.AppendAsync(
            new StreamAppend("s-meta", "thing", "t", ExpectedVersion.Any, [new Noted("with an actor")]), new EventMetadata(ActorId: "member:42"))).LastSequence;

        var daemon = await _db.StartDaemonAsync("node-a", Recording("with_metadata", true), Recording("without_metadata", false));
        await daemon.WaitForAsync(last, Patience);

        seen["with_metadata"].ShouldBe(["member:42"]);
        seen["without_metadata"].ShouldBe([null]);
    }

    [Fact]
    public async Task A_rolled_back_append_leaves_a_hole_that_does_not_stop_the_daemon()
    {
        await _db.AppendAsync(3);
        await using (var connection = await _db.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var burn = new NpgsqlCommand("SELECT nextval('event_sequence')", connection);
            await burn.ExecuteScalarAsync();
            await transaction.RollbackAsync();
        }
        var last = await _db.AppendAsync(100);
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("recording"));

        await daemon.WaitForAsync(last, Patience);

        await _db.ShouldMatchTheLogAsync("recording");
        (await _db.ScalarAsync("SELECT count(*) FROM proj_recording.applied")).ShouldBe(103);
    }

    [Fact]
    public async Task An_append_committed_late_is_not_passed_and_is_projected_once_it_commits()
    {
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("recording"));
        await daemon.WaitForAsync(await _db.AppendAsync(5), Patience);

        // Transaction A takes a sequence number and holds its append open while B commits 100 events.
        await using var slow = await _db.DataSource.OpenConnectionAsync();
        await using var slowAppend = await slow.BeginTransactionAsync();
        long heldSequence;
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO streams (id, type, version, tenant_id) VALUES ('slow', 'thing', 1, 't');
            INSERT INTO events (seq_id, stream_id, version, type, data, metadata, tenant_id)
            VALUES (nextval('event_sequence'), 'slow', 1, 'test.noted.v1', '{"text":"late"}', '{}', 't') RETURNING seq_id;
            """, slow))
            heldSequence = (long)(await insert.ExecuteScalarAsync())!;
        var last = await _db.AppendAsync(100);
        last.ShouldBeGreaterThan(heldSequence);

        await Task.Delay(TimeSpan.FromMilliseconds(600));
        (await _db.ScalarAsync("SELECT count(*) FROM proj_recording.applied WHERE seq_id = $1", heldSequence)).ShouldBe(0);
        var status = (await daemon.GetStatusAsync()).ShouldHaveSingleItem();
        status.LagEvents.ShouldBeGreaterThanOrEqualTo(100);
        status.HeldBackBy.ShouldNotBeNull().ProcessId.ShouldBe(slow.ProcessID);
        await Should.ThrowAsync<TimeoutException>(daemon.WaitForAsync(last, TimeSpan.FromMilliseconds(300)));

        await slowAppend.CommitAsync();
        await daemon.WaitForAsync(last, Patience);

        (await _db.ScalarAsync("SELECT count(*) FROM proj_recording.applied WHERE seq_id = $1", heldSequence)).ShouldBe(1);
        await _db.ShouldMatchTheLogAsync("recording");
    }

    [Fact]
    public async Task A_session_idle_in_a_read_only_transaction_holds_nothing_back_and_a_writing_one_is_reported()
    {
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("recording"));
        await using var idle = await _db.DataSource.OpenConnectionAsync();
        await using var idleTransaction = await idle.BeginTransactionAsync();
        await using (var read = new NpgsqlCommand("SELECT count(*) FROM events", idle))
            await read.ExecuteScalarAsync();

        await daemon.WaitForAsync(await _db.AppendAsync(20), Patience);

        await using (var write = new NpgsqlCommand("CREATE TEMP TABLE scratch (x int); INSERT INTO scratch VALUES (1)", idle))
            await write.ExecuteNonQueryAsync();
        var last = await _db.AppendAsync(10);
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        var status = (await daemon.GetStatusAsync()).ShouldHaveSingleItem();
        status.LagEvents.ShouldBe(10);
        status.LagSeconds.ShouldBeGreaterThan(0);
        status.HeldBackBy.ShouldNotBeNull().ProcessId.ShouldBe(idle.ProcessID);
        status.HeldBackBy.State.ShouldBe("idle in transaction");

        await idleTransaction.RollbackAsync();
        await daemon.WaitForAsync(last, Patience);
        await _db.ShouldMatchTheLogAsync("recording");
    }

    [Fact]
    public async Task A_crash_between_applying_a_batch_and_committing_its_checkpoint_applies_nothing_twice()
    {
        var projection = new RecordingProjection("recording");
        var crashes = 0;
        projection.BeforeBatch = async (connection, events) =>
        {
            // The batch's rows are written, then the connection dies before the commit: as a kill -9 would.
            if (events.Any(e => e.Data is Noted { Text: "note 150" }) && Interlocked.Increment(ref crashes) == 1)
            {
                await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pg_backend_pid())", connection);
                await kill.ExecuteNonQueryAsync();
            }
        };
        var last = await _db.AppendAsync(300);
        var daemon = await _db.StartDaemonAsync("node-a", projection);

        await daemon.WaitForAsync(last, Patience);

        crashes.ShouldBeGreaterThanOrEqualTo(2, "the batch was tried again after the crash");
        await _db.ShouldMatchTheLogAsync("recording");
    }

    [Fact]
    public async Task A_daemon_stopped_in_the_middle_of_a_batch_resumes_from_its_checkpoint_in_a_new_process()
    {
        var slow = new RecordingProjection("recording") { BeforeBatch = (_, _) => Task.Delay(300) };
        var last = await _db.AppendAsync(500);
        var first = await _db.StartDaemonAsync("first", slow);
        await Task.Delay(700);
        await first.StopAsync();
        var appliedBefore = await _db.ScalarAsync("SELECT count(*) FROM proj_recording.applied");
        appliedBefore.ShouldBeInRange(1, 499);

        var second = await _db.StartDaemonAsync("second", new RecordingProjection("recording"));
        await second.WaitForAsync(last, Patience);

        await _db.ShouldMatchTheLogAsync("recording");
    }

    [Fact]
    public async Task Two_daemons_share_the_projections_with_one_leader_each_and_the_survivor_takes_over()
    {
        IAsyncProjection[] Projections() => [new RecordingProjection("one"), new RecordingProjection("two"), new RecordingProjection("three")];
        var a = await _db.StartDaemonAsync("node-a", Projections());
        var b = await _db.StartDaemonAsync("node-b", Projections());
        await daemonsSettledAsync();

        foreach (var name in a.ProjectionNames)
            new[] { a.RoleOf(name), b.RoleOf(name) }.Count(r => r == RunnerRole.Leader).ShouldBe(1, name);
        await a.WaitForAsync(await _db.AppendAsync(50), Patience);

        // node-a dies: the server sees its connections go, as when its process is killed.
        var leaderToKill = a.Leading.Count > 0 ? a : b;
        var survivor = leaderToKill == a ? b : a;
        await using (var kill = _db.DataSource.CreateCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1"))
        {
            kill.Parameters.Add(new NpgsqlParameter { Value = leaderToKill.NodeId });
            await kill.ExecuteNonQueryAsync();
        }
        await leaderToKill.StopAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (survivor.Leading.Count < 3 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        survivor.Leading.Count.ShouldBe(3, "the survivor leads every projection within a bounded time");

        var last = await _db.AppendAsync(50, "after");
        await survivor.WaitForAsync(last, Patience);
        foreach (var name in survivor.ProjectionNames)
            await _db.ShouldMatchTheLogAsync(name);
        (await survivor.GetStatusAsync()).ShouldAllBe(s => s.Leader == survivor.NodeId);

        async Task daemonsSettledAsync()
        {
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (a.ProjectionNames.Any(n => a.RoleOf(n) is not (RunnerRole.Leader or RunnerRole.Standby) || b.RoleOf(n) is not (RunnerRole.Leader or RunnerRole.Standby))
                   && DateTime.UtcNow < until)
                await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_poison_event_stops_its_projection_only_and_is_reported_with_its_sequence()
    {
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("fragile"), new OtherProjection("sturdy"));
        await _db.AppendAsync(30);
        var poison = await _db.Store.AppendAsync(new StreamAppend("s-poison", "thing", "t", ExpectedVersion.Any, [new Noted("poison")]), EventMetadata.None);
        var last = await _db.AppendAsync(30, "later");

        var failure = await Should.ThrowAsync<ProjectionFailedException>(daemon.WaitForAsync(last, Patience));
        failure.Projection.ShouldBe("fragile");

        var statuses = (await daemon.GetStatusAsync()).ToDictionary(s => s.Name);
        statuses["fragile"].State.ShouldBe("failed");
        statuses["fragile"].ErrorSequence.ShouldBe(poison.LastSequence);
        statuses["fragile"].Error.ShouldNotBeNull().ShouldContain("cannot be applied");
        (await _db.ScalarAsync("SELECT count(*) FROM proj_fragile.applied")).ShouldBe(30);
        statuses["sturdy"].State.ShouldBe("running");
        var until = DateTime.UtcNow + Patience;
        while ((await _db.ScalarAsync("SELECT count(*) FROM proj_sturdy.seen")) < 61 && DateTime.UtcNow < until)
            await Task.Delay(20);
        (await _db.ScalarAsync("SELECT count(*) FROM proj_sturdy.seen")).ShouldBe(61);
    }

    [Fact]
    public async Task A_rebuild_while_events_keep_arriving_ends_equal_to_a_projection_never_rebuilt()
    {
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("recording"), new RecordingProjection("untouched"));
        await daemon.WaitForAsync(await _db.AppendAsync(500), Patience);

        using var stopAppending = new CancellationTokenSource();
        var appender = Task.Run(async () =>
        {
            var appended = 0;
            while (!stopAppending.IsCancellationRequested && appended < 3000)
            {
                await _db.AppendAsync(10, "during");
                appended += 10;
            }
        });
        await Task.Delay(200);
        await daemon.RequestRebuildAsync("recording");
        var until = DateTime.UtcNow + Patience;
        while ((await daemon.GetStatusAsync()).Single(s => s.Name == "recording").RebuildRequested && DateTime.UtcNow < until)
            await Task.Delay(50);
        await stopAppending.CancelAsync();
        await appender;
        var last = await _db.ScalarAsync("SELECT max(seq_id) FROM events");

        await daemon.WaitForAsync(last, Patience);

        var status = (await daemon.GetStatusAsync()).Single(s => s.Name == "recording");
        status.RebuildRequested.ShouldBeFalse();
        status.RebuildError.ShouldBeNull();
        await _db.ShouldMatchTheLogAsync("recording");
        (await _db.ScalarAsync("SELECT count(*) FROM (SELECT seq_id FROM proj_recording.applied EXCEPT SELECT seq_id FROM proj_untouched.applied) d")).ShouldBe(0);
        (await _db.ScalarAsync("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'proj_recording__%'")).ShouldBe(0);
    }

    [Fact]
    public async Task A_rebuild_cancelled_halfway_leaves_the_live_projection_as_it_was_and_a_rerun_succeeds()
    {
        var projection = new RecordingProjection("recording");
        var daemon = await _db.StartDaemonAsync("node-a", projection);
        var last = await _db.AppendAsync(1500);
        await daemon.WaitForAsync(last, Patience);
        projection.BeforeBatch = (_, _) => Task.Delay(50); // slow enough to cancel halfway

        await daemon.RequestRebuildAsync("recording");
        var until = DateTime.UtcNow + Patience;
        while (await _db.ScalarAsync("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'proj_recording__rebuild' AND table_name = 'applied'") == 0
               && DateTime.UtcNow < until)
            await Task.Delay(20);
        await Task.Delay(200);
        await daemon.CancelRebuildAsync("recording");
        until = DateTime.UtcNow + Patience;
        while (await _db.ScalarAsync("SELECT count(*) FROM pg_namespace WHERE nspname = 'proj_recording__rebuild'") > 0 && DateTime.UtcNow < until)
            await Task.Delay(20);

        (await _db.ScalarAsync("SELECT count(*) FROM pg_namespace WHERE nspname = 'proj_recording__rebuild'")).ShouldBe(0);
        await _db.ShouldMatchTheLogAsync("recording");

        projection.BeforeBatch = null;
        await daemon.RequestRebuildAsync("recording");
        until = DateTime.UtcNow + Patience;
        while ((await daemon.GetStatusAsync()).Single().RebuildRequested && DateTime.UtcNow < until)
            await Task.Delay(50);
        (await daemon.GetStatusAsync()).Single().RebuildRequested.ShouldBeFalse();
        await daemon.WaitForAsync(last, Patience);
        await _db.ShouldMatchTheLogAsync("recording");
    }

    [Fact]
    public async Task An_unknown_event_type_is_skipped_and_counted_while_running_and_fails_a_rebuild_loudly()
    {
        await _db.AppendAsync(10);
        await using (var insert = _db.DataSource.CreateCommand(
            """
            INSERT INTO streams (id, type, version, tenant_id) VALUES ('future', 'thing', 1, 't');
            INSERT INTO events (seq_id, stream_id, version, type, data, metadata, tenant_id)
            VALUES (nextval('event_sequence'), 'future', 1, 'test.from-the-future.v9', '{}', '{}', 't');
            """))
            await insert.ExecuteNonQueryAsync();
        var last = await _db.AppendAsync(10, "after");
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("recording"));

        await daemon.WaitForAsync(last, Patience);
        var status = (await daemon.GetStatusAsync()).Single();
        status.SkippedUnknownEvents.ShouldBe(1);
        status.AppliedEvents.ShouldBe(20);
        await _db.ShouldMatchTheLogAsync("recording");

        await daemon.RequestRebuildAsync("recording");
        var until = DateTime.UtcNow + Patience;
        while ((await daemon.GetStatusAsync()).Single().RebuildError is null && DateTime.UtcNow < until)
            await Task.Delay(50);
        status = (await daemon.GetStatusAsync()).Single();
        status.RebuildError.ShouldNotBeNull().ShouldContain("test.from-the-future.v9");
        status.RebuildRequested.ShouldBeFalse();
        status.State.ShouldBe("running");
        await _db.ShouldMatchTheLogAsync("recording");
    }

    [Fact]
    public async Task Tables_built_by_another_version_of_a_projection_are_rebuilt_and_swapped()
    {
        var first = await _db.StartDaemonAsync("v1", new RecordingProjection("recording"));
        await first.WaitForAsync(await _db.AppendAsync(200), Patience);
        await first.StopAsync();

        var newer = new RecordingProjection("recording") { ExtraSchemaSql = "CREATE TABLE added_in_v2 (x int);" };
        var second = await _db.StartDaemonAsync("v2", newer);
        var until = DateTime.UtcNow + Patience;
        while (await _db.ScalarAsync("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'proj_recording' AND table_name = 'added_in_v2'") == 0
               && DateTime.UtcNow < until)
            await Task.Delay(50);

        (await _db.ScalarAsync("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'proj_recording' AND table_name = 'added_in_v2'")).ShouldBe(1);
        var last = await _db.AppendAsync(20, "after the upgrade");
        await second.WaitForAsync(last, Patience);
        await _db.ShouldMatchTheLogAsync("recording");
        (await second.GetStatusAsync()).Single().RebuildRequested.ShouldBeFalse();
    }

    [Fact]
    public async Task A_sequence_that_jumped_ahead_is_never_passed()
    {
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("recording"));
        var before = await _db.AppendAsync(5);
        await _db.ScalarAsync("SELECT setval('event_sequence', nextval('event_sequence') + 1000)");
        var last = await _db.AppendAsync(5);
        last.ShouldBeGreaterThan(before + 1000);

        await daemon.WaitForAsync(last, Patience);

        (await daemon.GetStatusAsync()).Single().Position.ShouldBe(last);
        await _db.ShouldMatchTheLogAsync("recording");
    }

    [Fact]
    public async Task Waiting_for_a_position_held_back_forever_ends_with_a_timeout_that_says_why()
    {
        var daemon = await _db.StartDaemonAsync("node-a", new RecordingProjection("recording"));
        await using var blocker = await _db.DataSource.OpenConnectionAsync();
        await using var open = await blocker.BeginTransactionAsync();
        await using (var write = new NpgsqlCommand("SELECT pg_current_xact_id()", blocker))
            await write.ExecuteScalarAsync();
        var last = await _db.AppendAsync(3);
        await Task.Delay(400);

        var timeout = await Should.ThrowAsync<TimeoutException>(daemon.WaitForAsync(last, TimeSpan.FromSeconds(1)));

        timeout.Message.ShouldContain($"held back by pid {blocker.ProcessID}");
    }
}

/// <summary>A second, independent projection: it only notes which events it saw.</summary>
public sealed class OtherProjection(string name) : IAsyncProjection
{
    public string Name { get; } = name;
    public string SchemaSql => "CREATE TABLE seen (seq_id bigint PRIMARY KEY);";

    public async Task ApplyAsync(NpgsqlConnection connection, IReadOnlyList<RecordedEvent> events, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("INSERT INTO seen SELECT unnest($1::bigint[])", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = events.Select(e => e.Sequence).ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>EVENTSTORE.md test 9, on a cluster of its own that the test restarts.</summary>
[Collection("daemon")]
public sealed class DaemonRestartTests
{
    [Fact]
    public async Task The_daemon_resumes_by_itself_after_postgresql_restarts()
    {
        await using var cluster = await LocalPostgresCluster.StartAsync(new LocalPostgresOptions { Throwaway = true });
        await using var db = await DaemonFixture.CreateAsync(cluster.ConnectionString());
        var daemon = await db.StartDaemonAsync("node-a", new RecordingProjection("recording"));
        await daemon.WaitForAsync(await db.AppendAsync(20), TimeSpan.FromSeconds(20));

        await cluster.RestartAsync();
        long last = 0;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (last == 0 && DateTime.UtcNow < until)
        {
            try { last = await db.AppendAsync(20, "after restart"); }
            catch (NpgsqlException) { await Task.Delay(100); } // the test's own pool notices the restart too
        }

        await daemon.WaitForAsync(last, TimeSpan.FromSeconds(30));
        await db.ShouldMatchTheLogAsync("recording");
        daemon.RoleOf("recording").ShouldBe(RunnerRole.Leader);
    }
}
