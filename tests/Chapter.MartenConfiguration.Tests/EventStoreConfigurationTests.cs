using Chapter.Testing;
using Chapter.Domain.Members;
using Chapter.Domain.Referrals;
using Chapter.Projections;
using Chapter.Projections.Activity;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Marten;
using Marten.Exceptions;
using Marten.Services;
using Npgsql;

namespace Chapter.MartenConfiguration.Tests;

/// <summary>
/// The failures Marten's users were hurt by (lost, doubled or stalled events; README, "The event store", lists each with
/// its test), against Chapter's own Marten configuration on real PostgreSQL: Marten covers them by default, and these
/// tests make sure nothing we set breaks that.
/// </summary>
public sealed class EventStoreConfigurationTests : IAsyncLifetime
{
    private MartenFixture _marten = null!;

    public async Task InitializeAsync() => _marten = await MartenFixture.CreateAsync();
    public async Task DisposeAsync() => await _marten.DisposeAsync();

    private static SessionOptions InTransaction(NpgsqlTransaction transaction)
    {
        var options = SessionOptions.ForTransaction(transaction);
        options.TenantId = "north";
        return options;
    }

    /// <summary>A stream folded for writing: only its version matters here.</summary>
    public sealed record Probe(string Id);

    private static MemberJoined Joined(Guid id, string name = "Anna") => new(id, "north", name, "Trade", ["sv"], DateTimeOffset.UtcNow);

    private static MemberDetailsChanged Renamed(Guid id, string name) => new(id, name, "Trade", ["sv"], MemberRole.Member, DateTimeOffset.UtcNow);

    [Fact]
    public async Task Two_appends_expecting_the_same_version_race_and_exactly_one_wins()
    {
        var anna = Guid.NewGuid();
        var stream = MemberDecider.StreamId(anna);
        await _marten.AppendAsync("north", stream, Joined(anna), Renamed(anna, "A2"), Renamed(anna, "A3"), Renamed(anna, "A4"), Renamed(anna, "A5"));

        // As the write path appends (Wolverine's aggregate handler workflow): fetch for writing, append, save.
        await using var first = _marten.Store.LightweightSession("north");
        await using var second = _marten.Store.LightweightSession("north");
        var firstStream = await first.Events.FetchForWriting<Probe>(stream);
        var secondStream = await second.Events.FetchForWriting<Probe>(stream);
        firstStream.CurrentVersion.ShouldBe(5);
        secondStream.CurrentVersion.ShouldBe(5);
        firstStream.AppendOne(Renamed(anna, "B"));
        secondStream.AppendOne(Renamed(anna, "C"));
        async Task<Exception?> SaveAsync(IDocumentSession session)
        {
            try { await session.SaveChangesAsync(); return null; }
            catch (Exception e) { return e; }
        }
        var outcomes = await Task.WhenAll(SaveAsync(first), SaveAsync(second));

        outcomes.Count(e => e is null).ShouldBe(1);
        var loser = outcomes.Single(e => e is not null)!;
        (loser is EventStreamUnexpectedMaxEventIdException or ConcurrencyException).ShouldBeTrue(loser.ToString());
        (await _marten.ScalarAsync("SELECT max(version) FROM mt_events WHERE stream_id = $1", stream)).ShouldBe(6);
    }

    [Fact]
    public async Task Inline_views_carry_each_streams_version_as_the_write_path_appends()
    {
        // A view's version is its ETag, so the append mode must show an inline projection the version it writes. The write
        // path starts new streams, and appends to streams it fetched for writing (Wolverine's aggregate handler workflow).
        var anna = Guid.NewGuid();
        var stream = MemberDecider.StreamId(anna);
        await using (var session = _marten.Store.LightweightSession("north"))
        {
            session.Events.StartStream(stream, Joined(anna));
            await session.SaveChangesAsync();
        }
        (await _marten.ScalarAsync("SELECT version FROM member_view WHERE id = $1", anna)).ShouldBe(1);

        for (var version = 2; version <= 3; version++)
        {
            await using var session = _marten.Store.LightweightSession("north");
            var fetched = await session.Events.FetchForWriting<Probe>(stream);
            fetched.AppendOne(Renamed(anna, $"Anna {version}"));
            await session.SaveChangesAsync();
            (await _marten.ScalarAsync("SELECT version FROM member_view WHERE id = $1", anna)).ShouldBe(version);
        }
    }

    [Fact]
    public async Task Two_starts_of_the_same_stream_race_and_the_loser_hears_the_stream_exists()
    {
        var id = Guid.NewGuid();
        async Task<Exception?> StartAsync()
        {
            await using var session = _marten.Store.LightweightSession("north");
            session.Events.StartStream(MemberDecider.StreamId(id), Joined(id));
            try { await session.SaveChangesAsync(); return null; }
            catch (Exception e) { return e; }
        }
        var outcomes = await Task.WhenAll(StartAsync(), StartAsync());

        outcomes.Count(e => e is null).ShouldBe(1);
        outcomes.Single(e => e is not null).ShouldBeAssignableTo<MartenException>();
        (await _marten.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", MemberDecider.StreamId(id))).ShouldBe(1);
    }

    [Fact]
    public async Task A_rolled_back_append_leaves_a_gap_that_does_not_stop_the_daemon()
    {
        await _marten.StartDaemonAsync();
        await using (var connection = await _marten.Db.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var session = _marten.Store.LightweightSession(InTransaction(transaction));
            var doomed = Guid.NewGuid();
            session.Events.Append(MemberDecider.StreamId(doomed), Joined(doomed));
            await session.SaveChangesAsync();
            await transaction.RollbackAsync();
        }
        var last = await _marten.JoinMembersAsync(100);

        (await _marten.ReachesAsync(CountingProjection.Name, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        (await _marten.ReachesAsync(ActivityProjection.ProjectionName, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        (await _marten.ScalarAsync("SELECT count(*) FROM counted")).ShouldBe(100);
        (await _marten.ScalarAsync("SELECT count(*) FROM proj_activity.members")).ShouldBe(100);
    }

    [Fact]
    public async Task An_append_held_open_is_not_passed_and_is_projected_once_it_commits()
    {
        await _marten.StartDaemonAsync();
        var held = Guid.NewGuid();
        await using var connection = await _marten.Db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var session = _marten.Store.LightweightSession(InTransaction(transaction)))
        {
            session.Events.Append(MemberDecider.StreamId(held), Joined(held, "Held"));
            await session.SaveChangesAsync();
        }
        var heldSequence = await _marten.ScalarAsync("SELECT last_value FROM mt_events_sequence");
        var last = await _marten.JoinMembersAsync(100);

        // For as long as the transaction stays open (10 s here), the daemon holds before its number, applying nothing past it.
        (await _marten.ReachesAsync(CountingProjection.Name, heldSequence, TimeSpan.FromSeconds(10))).ShouldBeFalse();
        (await _marten.ScalarAsync("SELECT count(*) FROM mt_high_water_skips")).ShouldBe(0);

        await transaction.CommitAsync();
        (await _marten.ReachesAsync(CountingProjection.Name, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        (await _marten.ReachesAsync(ActivityProjection.ProjectionName, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        (await _marten.ScalarAsync("SELECT count(*) FROM counted")).ShouldBe(101);
        (await _marten.ScalarAsync("SELECT count(*) FROM counted WHERE seq_id = $1", heldSequence)).ShouldBe(1);
        (await _marten.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE name = 'Held'")).ShouldBe(1);
    }

    [Fact]
    public async Task A_poison_event_stops_only_its_projection_and_records_its_sequence()
    {
        await _marten.StartDaemonAsync();
        var before = Guid.NewGuid();
        var applied = await _marten.AppendAsync("north", MemberDecider.StreamId(before), Joined(before));
        (await _marten.ReachesAsync(ActivityProjection.ProjectionName, applied, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        // A referral.given.v2 whose payload lacks everything: the facts cannot take it.
        var poison = await RawEvents.InsertAsync(_marten.ConnectionString, "referral-poison", "north", "referral.given.v2", "{}");
        var after = Guid.NewGuid();
        var last = await _marten.AppendAsync("north", MemberDecider.StreamId(after), Joined(after, "After"));

        // The other projection goes on past the poison event.
        (await _marten.ReachesAsync(CountingProjection.Name, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        // Marten's daemon pauses the activity projection there and keeps why with its progression: the event and its type.
        (await MartenFixture.EventuallyAsync(async () => (await ActivityFailureAsync())?.Event?.Sequence == poison, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        (await ActivityFailureAsync())!.Event!.EventTypeName.ShouldBe("referral.given.v2");
        (await ActivityFailureAsync())!.Category.ShouldBe(ShardFailureCategory.ApplyEvent);
        // Stopped: what came before the poison is applied, nothing from it on.
        (await _marten.ProgressAsync(ActivityProjection.ProjectionName)).ShouldBeLessThan(poison);
        (await _marten.ScalarAsync("SELECT count(*) FROM proj_activity.members")).ShouldBe(1);
        (await _marten.ScalarAsync("SELECT count(*) FROM counted")).ShouldBe(3);
    }

    private async Task<ShardFailure?> ActivityFailureAsync() =>
        (await _marten.Store.Storage.Database.AllProjectionProgress()).SingleOrDefault(s => s.ShardName == ChapterEventStore.ActivityShard)?.Failure;

    [Fact]
    public async Task An_event_type_no_code_knows_is_skipped_while_running()
    {
        await _marten.StartDaemonAsync();
        await RawEvents.InsertAsync(_marten.ConnectionString, "future-1", "north", "something.from-the-future.v1", "{\"x\":1}",
            "Chapter.Domain.Future.SomethingFromTheFuture, Chapter.Domain");
        var id = Guid.NewGuid();
        var last = await _marten.AppendAsync("north", MemberDecider.StreamId(id), Joined(id));

        (await _marten.ReachesAsync(ActivityProjection.ProjectionName, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        (await _marten.ScalarAsync("SELECT count(*) FROM proj_activity.members")).ShouldBe(1);
        (await ActivityFailureAsync()).ShouldBeNull();
    }

    [Fact]
    public async Task A_sequence_that_jumped_ahead_is_never_passed()
    {
        await _marten.StartDaemonAsync();
        var id = Guid.NewGuid();
        var committed = await _marten.AppendAsync("north", MemberDecider.StreamId(id), Joined(id));
        await _marten.ScalarAsync("SELECT setval('mt_events_sequence', $1)", committed + 1000);
        var next = Guid.NewGuid();
        var last = await _marten.AppendAsync("north", MemberDecider.StreamId(next), Joined(next));

        (await _marten.ReachesAsync(CountingProjection.Name, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        (await _marten.ProgressAsync(CountingProjection.Name)).ShouldBe(last);
        (await _marten.ScalarAsync("SELECT max(last_seq_id) FROM mt_event_progression")).ShouldBeLessThanOrEqualTo(last);
        (await _marten.ScalarAsync("SELECT count(*) FROM counted")).ShouldBe(2);
    }
}

public sealed class EventStoreConcurrencyTests : IAsyncLifetime
{
    private MartenFixture _marten = null!;

    public async Task InitializeAsync() => _marten = await MartenFixture.CreateAsync();
    public async Task DisposeAsync() => await _marten.DisposeAsync();

    [Fact]
    public async Task Fifty_parallel_appends_to_one_stream_without_an_expected_version_get_versions_one_to_fifty()
    {
        var anna = Guid.NewGuid();
        var stream = MemberDecider.StreamId(anna);
        await _marten.AppendAsync("north", stream, new MemberJoined(anna, "north", "Anna", "Trade", ["sv"], DateTimeOffset.UtcNow));

        await Task.WhenAll(Enumerable.Range(2, 49).Select(async i =>
        {
            await using var session = _marten.Store.LightweightSession("north");
            // Exclusive: the stream row is locked for the append, so parallel writers queue instead of colliding.
            await session.Events.AppendExclusive(stream, new MemberDetailsChanged(anna, $"Anna {i}", "Trade", ["sv"], MemberRole.Member, DateTimeOffset.UtcNow));
            await session.SaveChangesAsync();
        }));

        (await _marten.ScalarAsync("SELECT count(DISTINCT version) FROM mt_events WHERE stream_id = $1", stream)).ShouldBe(50);
        (await _marten.ScalarAsync("SELECT min(version) * 100 + max(version) FROM mt_events WHERE stream_id = $1", stream)).ShouldBe(150);
        (await _marten.ScalarAsync("SELECT version FROM mt_streams WHERE id = $1", stream)).ShouldBe(50);
    }

    [Fact]
    public async Task A_session_idle_in_a_transaction_that_wrote_nothing_holds_nothing_back()
    {
        await _marten.StartDaemonAsync();
        await using var idle = await _marten.Db.OpenConnectionAsync();
        await using var transaction = await idle.BeginTransactionAsync();
        await using (var read = new NpgsqlCommand("SELECT count(*) FROM mt_events", idle, transaction))
            await read.ExecuteScalarAsync();

        var last = await _marten.JoinMembersAsync(20);

        (await _marten.ReachesAsync(CountingProjection.Name, last, TimeSpan.FromSeconds(15))).ShouldBeTrue();
        (await _marten.ScalarAsync("SELECT count(*) FROM counted")).ShouldBe(20);
    }
}

/// <summary>Fails its first batch at commit time, after its writes were queued: as a crash between applying and checkpointing.</summary>
public sealed class FailsOnceAtCommit : Marten.Events.Projections.IProjection
{
    public const string Name = "fails_once";
    private int _batches;

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        operations.QueueSqlCommand("INSERT INTO public.counted_once (seq_id) SELECT unnest(?::bigint[])", (object)events.Select(e => e.Sequence).ToArray());
        if (Interlocked.Increment(ref _batches) == 1)
            operations.QueueSqlCommand("SELECT 1 / 0");
        return Task.CompletedTask;
    }
}

public sealed class EventStoreAtomicityTests : IAsyncLifetime
{
    private MartenFixture _marten = null!;

    public async Task InitializeAsync() => _marten = await MartenFixture.CreateAsync();
    public async Task DisposeAsync() => await _marten.DisposeAsync();

    [Fact]
    public async Task A_batch_that_fails_after_its_writes_commits_neither_them_nor_its_checkpoint_and_is_applied_once_later()
    {
        await using (var table = _marten.Db.CreateCommand("CREATE TABLE counted_once (seq_id bigint NOT NULL)"))
            await table.ExecuteNonQueryAsync();
        await using var store = DocumentStore.For(options =>
        {
            Chapter.Projections.ChapterEventStore.Configure(options, _marten.ConnectionString, new ActivityProjection());
            options.Projections.Add(new FailsOnceAtCommit(), JasperFx.Events.Projections.ProjectionLifecycle.Async, FailsOnceAtCommit.Name);
        });
        var last = await _marten.JoinMembersAsync(20);

        using var daemon = await store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        // The first batch fails at commit (division by zero after the inserts): nothing of it, and no checkpoint, is kept.
        (await _marten.ReachesAsync(ActivityProjection.ProjectionName, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        (await _marten.ProgressAsync(FailsOnceAtCommit.Name)).ShouldBe(0);
        (await _marten.ScalarAsync("SELECT count(*) FROM counted_once")).ShouldBe(0);

        // Started again (as after a crash and restart), it applies every event once.
        await daemon.StopAgentAsync($"{FailsOnceAtCommit.Name}:All");
        await daemon.StartAgentAsync($"{FailsOnceAtCommit.Name}:All", CancellationToken.None);
        (await _marten.ReachesAsync(FailsOnceAtCommit.Name, last, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        await daemon.StopAllAsync();

        (await _marten.ScalarAsync("SELECT count(*) FROM counted_once")).ShouldBe(20);
        (await _marten.ScalarAsync("SELECT count(DISTINCT seq_id) FROM counted_once")).ShouldBe(20);
    }
}
