using Chapter.Domain.Chapters;
using Chapter.Domain.Members;
using Chapter.Domain.OneToOnes;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Activity;
using Chapter.Projections.Reciprocity;
using Chapter.Testing;
using JasperFx.Events.Daemon;
using Marten;
using Npgsql;

namespace Chapter.Projections.Tests;

/// <summary>The activity projection over hand-made event streams, applied by the daemon to real PostgreSQL.</summary>
public sealed class ActivityProjectionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 5, 8, 0, 0, TimeSpan.Zero);
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid(), C = Guid.NewGuid();
    private NpgsqlDataSource _db = null!;
    private string _connectionString = "";
    private DocumentStore _store = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await TestPostgres.CreateDatabaseAsync();
        _db = NpgsqlDataSource.Create(_connectionString);
        _store = Store(ChapterEventStore.DefaultActivityBatchSize);
        await _store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await ActivityProjection.EnsureSchemaAsync(_db);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _db.DisposeAsync();
    }

    private DocumentStore Store(int batchSize) =>
        DocumentStore.For(options => ChapterEventStore.Configure(options, _connectionString, new ActivityProjection(), batchSize));

    private Task AppendAsync(string stream, params object[] events) => AppendToAsync("north", stream, events);

    private async Task AppendToAsync(string chapter, string stream, params object[] events)
    {
        await using var session = _store.LightweightSession(chapter);
        session.Events.Append(stream, events);
        await session.SaveChangesAsync();
    }

    /// <summary>Marten's daemon, caught up with every event so far (no hosted daemon runs here, so CatchUpAsync may).</summary>
    private sealed class CaughtUp(DocumentStore store, IProjectionDaemon daemon) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await daemon.StopAllAsync();
            daemon.Dispose();
            await store.DisposeAsync();
        }
    }

    private async Task<CaughtUp> CaughtUpDaemonAsync(int batchSize = 1000)
    {
        var store = Store(batchSize);
        var daemon = await store.BuildProjectionDaemonAsync();
        await daemon.CatchUpAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        return new CaughtUp(store, daemon);
    }

    /// <summary>As if the projection had never run: its tables and Marten's checkpoint for it gone.</summary>
    private async Task ForgetTheProjectionAsync()
    {
        await ActivityProjection.DropSchemaAsync(_db, ActivityProjection.Schema);
        await using (var reset = _db.CreateCommand($"DELETE FROM mt_event_progression WHERE name = '{ChapterEventStore.ActivityShard}'"))
            await reset.ExecuteNonQueryAsync();
        await ActivityProjection.EnsureSchemaAsync(_db);
    }

    private async Task GivenAHandMadeHistoryAsync()
    {
        await AppendAsync(ChapterDecider.StreamId("north"), new ChapterCreated("north", "North", "Europe/Amsterdam", "EUR", T0, TieHalfLifeDays: 30));
        foreach (var (id, name) in new[] { (A, "Anna"), (B, "Bram"), (C, "Chi") })
            await AppendAsync(MemberDecider.StreamId(id), new MemberJoined(id, "north", name, "Trade", ["nl"], T0));
        var ab = Guid.NewGuid();
        await AppendAsync(ReferralDecider.StreamId(ab),
            new ReferralGiven(ab, "north", A, B, true, "sealed-P", "Need", Temperature.Hot, "nl", T0.AddDays(1)),
            new ReferralAccepted(ab, B, T0.AddDays(1).AddHours(4)),
            new ReferralClosed(ab, B, Outcome.Won, new Money(2500m, "EUR"), T0.AddDays(9)),
            new ReferralThanked(ab, B, "Thanks!", T0.AddDays(10)));
        var bc = Guid.NewGuid();
        await AppendAsync(ReferralDecider.StreamId(bc),
            new ReferralGiven(bc, "north", B, C, true, "sealed-Q", "Need", Temperature.Warm, "nl", T0.AddDays(2)),
            new ReferralDeclined(bc, C, "Not my field", T0.AddDays(3)));
        var ca = Guid.NewGuid();
        await AppendAsync(ReferralDecider.StreamId(ca),
            new ReferralGiven(ca, "north", C, A, true, "sealed-R", "Need", Temperature.Cold, "nl", T0.AddDays(4)));
        var meeting = Guid.NewGuid();
        await AppendAsync(OneToOneDecider.StreamId(meeting), new OneToOneHeld(meeting, "north", A, C, new DateOnly(2026, 10, 6), null, T0.AddDays(1)));
        await AppendAsync(MemberDecider.StreamId(C), new MemberLeft(C, T0.AddDays(20)));
    }

    [Fact]
    public async Task The_events_become_the_chapters_facts()
    {
        await GivenAHandMadeHistoryAsync();
        await using var daemon = await CaughtUpDaemonAsync();

        var facts = (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None)).ShouldNotBeNull();

        facts.TimeZone.Id.ShouldBe("Europe/Amsterdam");
        facts.TieHalfLifeDays.ShouldBe(30);
        facts.Members.Select(m => (m.Name, m.LeftAt)).ShouldBe([("Anna", null), ("Bram", null), ("Chi", T0.AddDays(20))], ignoreOrder: true);
        var won = facts.Referrals.Single(r => r.GiverId == A);
        won.ShouldBe(new ReferralFact(won.Id, A, B, T0.AddDays(1), T0.AddDays(1).AddHours(4), null, T0.AddDays(9), Outcome.Won, new Money(2500m, "EUR"), T0.AddDays(10)));
        facts.Referrals.Single(r => r.GiverId == B).DeclinedAt.ShouldBe(T0.AddDays(3));
        facts.OneToOnes.ShouldHaveSingleItem().HeldOn.ShouldBe(new DateOnly(2026, 10, 6));

        var figures = Circulation.Compute(facts, T0, T0.AddDays(14));
        figures.LoopClosures.ShouldBe(1);
        figures.ClosedWonValue.ShouldBe([new Money(2500m, "EUR")]);
        figures.ClosedLoopShare.ShouldBe(1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Steps_merged_within_a_batch_give_the_same_facts_as_steps_applied_one_by_one(int batchSize)
    {
        await GivenAHandMadeHistoryAsync();
        // A referral whose close and thanks are appended after its giving and acceptance.
        var late = Guid.NewGuid();
        await AppendAsync(ReferralDecider.StreamId(late),
            new ReferralGiven(late, "north", B, A, true, "sealed-S", "Need", Temperature.Warm, "nl", T0.AddDays(5)),
            new ReferralAccepted(late, A, T0.AddDays(6)));
        await AppendAsync(ReferralDecider.StreamId(late),
            new ReferralClosed(late, A, Outcome.Lost, null, T0.AddDays(8)),
            new ReferralThanked(late, A, "Thanks anyway", T0.AddDays(9)));
        ReferralFact[] merged;
        await using (var daemon = await CaughtUpDaemonAsync())
            merged = [.. (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None))!.Referrals.OrderBy(r => r.Id)];
        await ForgetTheProjectionAsync();

        await using var stepByStep = await CaughtUpDaemonAsync(batchSize);
        var facts = (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None))!;

        facts.Referrals.OrderBy(r => r.Id).ShouldBe(merged);
        facts.Referrals.Single(r => r.Id == late).ShouldBe(
            new ReferralFact(late, B, A, T0.AddDays(5), T0.AddDays(6), null, T0.AddDays(8), Outcome.Lost, null, T0.AddDays(9)));
        merged.Single(r => r.GiverId == A).ShouldBe(facts.Referrals.Single(r => r.GiverId == A));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(1000)]
    public async Task Corrections_withdrawals_and_redirects_give_the_same_facts_in_any_batches(int batchSize)
    {
        await GivenAHandMadeHistoryAsync();
        var corrected = Guid.NewGuid();
        await AppendAsync(ReferralDecider.StreamId(corrected),
            new ReferralGiven(corrected, "north", A, B, true, "sealed-T", "Need", Temperature.Warm, "nl", T0.AddDays(5)),
            new ReferralAccepted(corrected, B, T0.AddDays(6)),
            new ReferralClosed(corrected, B, Outcome.Won, new Money(9000m, "EUR"), T0.AddDays(7)));
        await AppendAsync(ReferralDecider.StreamId(corrected),
            new ReferralCorrected(corrected, B, Outcome.Won, new Money(900m, "EUR"), null, "One zero too many", T0.AddDays(8)),
            new ReferralCorrected(corrected, B, null, null, null, "Only the note", T0.AddDays(8).AddHours(1)));
        await AppendAsync(ReferralDecider.StreamId(corrected),
            new ReferralCorrected(corrected, B, Outcome.Won, new Money(950m, "EUR"), null, "And the tip", T0.AddDays(9)));
        var withdrawn = Guid.NewGuid();
        await AppendAsync(ReferralDecider.StreamId(withdrawn),
            new ReferralGiven(withdrawn, "north", B, A, true, "sealed-U", "Need", Temperature.Cold, "nl", T0.AddDays(5)));
        await AppendAsync(ReferralDecider.StreamId(withdrawn), new ReferralWithdrawn(withdrawn, B, null, T0.AddDays(5).AddHours(1)));
        var redirected = Guid.NewGuid();
        await AppendAsync(ReferralDecider.StreamId(redirected),
            new ReferralGiven(redirected, "north", A, B, true, "sealed-V", "Need", Temperature.Hot, "nl", T0.AddDays(5)),
            new ReferralRedirected(redirected, A, B, C, T0.AddDays(5).AddHours(1)));
        await AppendAsync(ReferralDecider.StreamId(redirected),
            new ReferralRedirected(redirected, A, C, B, T0.AddDays(5).AddHours(2)),
            new ReferralRedirected(redirected, A, B, C, T0.AddDays(5).AddHours(3)),
            new ReferralAccepted(redirected, C, T0.AddDays(6)));
        var meeting = Guid.NewGuid();
        await AppendAsync(OneToOneDecider.StreamId(meeting), new OneToOneHeld(meeting, "north", A, B, new DateOnly(2026, 10, 8), null, T0.AddDays(3)));
        await AppendAsync(OneToOneDecider.StreamId(meeting), new OneToOneWithdrawn(meeting, A, T0.AddDays(3).AddHours(1)));

        await using var daemon = await CaughtUpDaemonAsync(batchSize);
        var facts = (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None))!;

        facts.Referrals.Single(r => r.Id == corrected).ShouldBe(
            new ReferralFact(corrected, A, B, T0.AddDays(5), T0.AddDays(6), null, T0.AddDays(7), Outcome.Won, new Money(950m, "EUR"), null));
        facts.Referrals.ShouldNotContain(r => r.Id == withdrawn);
        facts.Referrals.Single(r => r.Id == redirected).ReceiverId.ShouldBe(C);
        facts.OneToOnes.ShouldNotContain(o => o.Id == meeting);
        Circulation.Compute(facts, T0, T0.AddDays(14)).ClosedWonValue.ShouldBe([new Money(3450m, "EUR")]);
        // The weekly report counts the closing in the week it was closed, at its corrected value.
        var report = WeeklyReport.Compute(facts, new DateOnly(2026, 10, 12));
        report.ClosedValue.ShouldBe([new Money(3450m, "EUR")]);
        report.Counts.ClosedWon.ShouldBe(2);
    }

    [Fact]
    public async Task Tables_made_before_corrections_get_their_columns_from_the_schema_migration_and_keep_their_rows()
    {
        await GivenAHandMadeHistoryAsync();
        await using (await CaughtUpDaemonAsync()) { }
        await using (var asBefore = _db.CreateCommand(
            $"""
             ALTER TABLE {ActivityProjection.Schema}.referrals DROP COLUMN withdrawn_at;
             ALTER TABLE {ActivityProjection.Schema}.referral_steps DROP COLUMN withdrawn_at, DROP COLUMN receiver_id, DROP COLUMN redirected_at, DROP COLUMN corrected_at;
             """))
            await asBefore.ExecuteNonQueryAsync();
        var before = (await _store.Storage.Database.CreateMigrationAsync()).Difference;

        // What Marten runs at start (and db-patch writes for an operator): the migration sees the missing columns.
        await _store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        before.ShouldNotBe(Weasel.Core.SchemaPatchDifference.None);
        (await _store.Storage.Database.CreateMigrationAsync()).Difference.ShouldBe(Weasel.Core.SchemaPatchDifference.None);

        var ab = (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None))!.Referrals.Single(r => r.GiverId == A);
        await AppendAsync(ReferralDecider.StreamId(ab.Id), new ReferralCorrected(ab.Id, B, Outcome.Won, new Money(250m, "EUR"), null, "Typo", T0.AddDays(11)));
        await using var daemon = await CaughtUpDaemonAsync();
        (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None))!.Referrals.Single(r => r.Id == ab.Id).Value.ShouldBe(new Money(250m, "EUR"));
    }

    [Fact]
    public async Task Loading_a_window_keeps_only_referrals_with_a_step_in_it()
    {
        await GivenAHandMadeHistoryAsync();
        await using var daemon = await CaughtUpDaemonAsync();

        var recent = (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None, activeSince: T0.AddDays(100).ToOffset(TimeSpan.FromHours(2))))!;

        // Only A→B had a step (its thanks, day 10) on or after day 9; members are always all there.
        var sinceDay9 = (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None, activeSince: T0.AddDays(9).ToOffset(TimeSpan.FromHours(2))))!;
        sinceDay9.Referrals.ShouldHaveSingleItem().GiverId.ShouldBe(A);
        sinceDay9.OneToOnes.ShouldBeEmpty();
        sinceDay9.Members.Count.ShouldBe(3);
        recent.Referrals.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_rebuild_gives_the_same_facts()
    {
        await GivenAHandMadeHistoryAsync();
        await using var daemon = await CaughtUpDaemonAsync();
        var before = (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None))!;

        // The rebuild beside the live tables is the API's (ReciprocityApiTests); here, a replay from the first event.
        await ForgetTheProjectionAsync();
        await using var rebuilt = await CaughtUpDaemonAsync();

        var after = (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None))!;
        after.Members.ShouldBe(before.Members);
        after.Referrals.OrderBy(r => r.Id).ShouldBe(before.Referrals.OrderBy(r => r.Id));
        after.OneToOnes.ShouldBe(before.OneToOnes);
    }

    [Fact]
    public async Task Each_chapters_referrals_and_steps_live_in_partitions_of_their_own()
    {
        await GivenAHandMadeHistoryAsync();
        await AppendToAsync("south", ChapterDecider.StreamId("south"), new ChapterCreated("south", "South", "Europe/Stockholm", "SEK", T0));
        var south = Guid.NewGuid();
        await AppendToAsync("south", ReferralDecider.StreamId(south),
            new ReferralGiven(south, "south", A, B, true, "sealed-T", "Need", Temperature.Warm, "sv", T0.AddDays(2)));
        await AppendToAsync("south", ReferralDecider.StreamId(south), new ReferralAccepted(south, B, T0.AddDays(3)));
        await using var daemon = await CaughtUpDaemonAsync(batchSize: 1); // every later step a row of its own

        async Task<string[]> TablesHolding(string table, string chapter)
        {
            await using var command = _db.CreateCommand($"SELECT DISTINCT tableoid::regclass::text FROM {ActivityProjection.Schema}.{table} WHERE chapter_id = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = chapter });
            var names = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                names.Add(reader.GetString(0));
            return [.. names];
        }
        // Hash-partitioned by chapter: a chapter's rows lie in one partition; "north" and "south" hash to different ones of 32.
        var north = (await TablesHolding("referrals", "north")).ShouldHaveSingleItem();
        (await TablesHolding("referrals", "south")).ShouldHaveSingleItem().ShouldNotBe(north);
        (await TablesHolding("referral_steps", "north")).ShouldHaveSingleItem().ShouldNotBe((await TablesHolding("referral_steps", "south")).ShouldHaveSingleItem());
        var facts = (await ActivityProjection.LoadAsync(_db, "south", CancellationToken.None))!;
        facts.Referrals.ShouldHaveSingleItem().ShouldBe(new ReferralFact(south, A, B, T0.AddDays(2), T0.AddDays(3), null, null, null, null, null));
    }

    [Fact]
    public async Task Referrals_load_in_the_order_the_server_sorts_them_by_time_then_id()
    {
        await AppendAsync(ChapterDecider.StreamId("north"), new ChapterCreated("north", "North", "Europe/Amsterdam", "EUR", T0));
        // Many at the same moment, so that ids decide; ids that differ in every part of the uuid.
        var ids = Enumerable.Range(0, 60).Select(_ => Guid.NewGuid()).ToList();
        ids.AddRange(new[] { "00000000-0000-0000-0000-000000000001", "80000000-0000-0000-0000-000000000000", "00000000-8000-0000-0000-000000000000",
            "00000000-0000-8000-0000-000000000000", "00000000-0000-0000-8000-000000000000", "ffffffff-0000-0000-0000-000000000000" }.Select(Guid.Parse));
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            await AppendAsync(ReferralDecider.StreamId(id),
                new ReferralGiven(id, "north", A, B, true, "sealed", "Need", Temperature.Warm, "nl", T0.AddDays(i % 3)));
        await using var daemon = await CaughtUpDaemonAsync();

        await using var command = _db.CreateCommand($"SELECT id FROM {ActivityProjection.Schema}.referrals ORDER BY given_at, id");
        var serverOrder = new List<Guid>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                serverOrder.Add(reader.GetGuid(0));

        (await ActivityProjection.LoadAsync(_db, "north", CancellationToken.None))!.Referrals.Select(r => r.Id).ShouldBe(serverOrder);
    }
}
