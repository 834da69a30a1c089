using Npgsql;

namespace Chapter.EventStore.Tests;

/// <summary>The races of ../shared/EVENTSTORE.md tests 1–3: one winner, typed errors, no holes in the sequence.</summary>
public sealed class ConcurrencyTests : IAsyncLifetime
{
    // A database of its own, so "no hole in the sequence" can be checked over the whole events table.
    private readonly StoreFixture _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();
    public Task DisposeAsync() => _fixture.DisposeAsync();

    private async Task ShouldHaveNoHolesInTheSequenceAsync()
    {
        var count = await _fixture.ScalarAsync("SELECT count(*) FROM events");
        (await _fixture.ScalarAsync("SELECT coalesce(max(seq_id), 0) FROM events")).ShouldBe(count);
        (await _fixture.ScalarAsync("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_sequence")).ShouldBe(count);
    }

    [Fact]
    public async Task Two_appends_expecting_the_same_version_race_and_exactly_one_wins_without_burning_a_number()
    {
        var store = _fixture.Store();
        var id = $"thing-{Guid.NewGuid():N}";
        await store.AppendAsync(new StreamAppend(id, "thing", "t", ExpectedVersion.NoStream,
            [new Opened("a"), new Noted("1"), new Noted("2"), new Noted("3"), new Noted("4")]), EventMetadata.None);

        // Hold the stream row so both appenders are inside their statements when it is released.
        await using var blocker = await _fixture.DataSource.OpenConnectionAsync();
        await using var blocking = await blocker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand($"SELECT 1 FROM streams WHERE id = '{id}' FOR UPDATE", blocker))
            await lockRow.ExecuteNonQueryAsync();

        var racers = Enumerable.Range(0, 2)
            .Select(i => store.AppendAsync(new StreamAppend(id, "thing", "t", ExpectedVersion.Exactly(5), [new Noted($"racer {i}")]), EventMetadata.None))
            .ToArray();
        await WaitUntilBlockedAsync(2);
        await blocking.RollbackAsync();

        var outcomes = await Task.WhenAll(racers.Select(async r =>
        {
            try { return (await r).StreamVersions[id]; }
            catch (ConcurrencyException e) { e.ActualVersion.ShouldBe(6); return -1L; }
        }));
        outcomes.Order().ShouldBe([-1L, 6L]);
        (await store.ReadStreamAsync(id)).Version.ShouldBe(6);
        await ShouldHaveNoHolesInTheSequenceAsync();
    }

    [Fact]
    public async Task Fifty_parallel_appends_without_an_expected_version_get_versions_one_to_fifty()
    {
        var store = _fixture.Store();
        var id = $"thing-{Guid.NewGuid():N}";

        await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            store.AppendAsync(new StreamAppend(id, "thing", "t", ExpectedVersion.Any, [new Noted($"{i}")]), EventMetadata.None)));

        var stream = await store.ReadStreamAsync(id);
        stream.Events.Select(e => e.Version).ShouldBe(Enumerable.Range(1, 50).Select(v => (long)v));
        stream.Events.Select(e => ((Noted)e.Data).Text).Distinct().Count().ShouldBe(50);
        await ShouldHaveNoHolesInTheSequenceAsync();
    }

    [Fact]
    public async Task Two_starts_of_the_same_stream_race_and_the_loser_is_told_the_stream_exists()
    {
        var store = _fixture.Store();
        for (var round = 0; round < 20; round++)
        {
            var id = $"thing-{Guid.NewGuid():N}";
            var outcomes = await Task.WhenAll(Enumerable.Range(0, 2).Select(async i =>
            {
                try
                {
                    await store.AppendAsync(new StreamAppend(id, "thing", "t", ExpectedVersion.NoStream, [new Opened($"{i}")]), EventMetadata.None);
                    return "started";
                }
                catch (StreamAlreadyExistsException) { return "exists"; }
            }));
            outcomes.Order().ShouldBe(["exists", "started"]);
        }
        await ShouldHaveNoHolesInTheSequenceAsync();
    }

    private async Task WaitUntilBlockedAsync(int waiters)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await _fixture.ScalarAsync(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") < waiters)
            await Task.Delay(20, timeout.Token);
    }
}
