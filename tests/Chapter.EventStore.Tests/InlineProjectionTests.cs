using Npgsql;

namespace Chapter.EventStore.Tests;

public sealed class InlineProjectionTests(StoreFixture fixture) : IClassFixture<StoreFixture>, IAsyncLifetime
{
    private sealed class NoteCounter : IInlineProjection
    {
        public void Apply(IReadOnlyList<RecordedEvent> events, NpgsqlBatch batch)
        {
            foreach (var e in events.Where(e => e.Data is Noted))
            {
                var command = new NpgsqlBatchCommand(
                    "INSERT INTO note_counts (stream_id, notes) VALUES (@id, 1) ON CONFLICT (stream_id) DO UPDATE SET notes = note_counts.notes + 1");
                command.Parameters.AddWithValue("id", e.StreamId);
                batch.BatchCommands.Add(command);
            }
        }
    }

    private sealed class BrokenProjection : IInlineProjection
    {
        public void Apply(IReadOnlyList<RecordedEvent> events, NpgsqlBatch batch) =>
            batch.BatchCommands.Add(new NpgsqlBatchCommand("INSERT INTO no_such_table VALUES (1)"));
    }

    public async Task InitializeAsync()
    {
        await using var command = fixture.DataSource.CreateCommand(
            "CREATE TABLE IF NOT EXISTS note_counts (stream_id text PRIMARY KEY, notes int NOT NULL)");
        await command.ExecuteNonQueryAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task An_inline_projection_is_up_to_date_as_soon_as_the_append_returns()
    {
        var id = $"thing-{Guid.NewGuid():N}";
        var store = fixture.Store(new NoteCounter());
        await store.AppendAsync(new StreamAppend(id, "thing", "t", ExpectedVersion.NoStream, [new Opened("a"), new Noted("b")]), EventMetadata.None);
        await store.AppendAsync(new StreamAppend(id, "thing", "t", ExpectedVersion.Exactly(2), [new Noted("c")]), EventMetadata.None);

        (await fixture.ScalarAsync($"SELECT notes FROM note_counts WHERE stream_id = '{id}'")).ShouldBe(2);
    }

    [Fact]
    public async Task A_failing_inline_projection_rolls_the_append_back()
    {
        var id = $"thing-{Guid.NewGuid():N}";
        var store = fixture.Store(new NoteCounter(), new BrokenProjection());

        await Should.ThrowAsync<PostgresException>(
            store.AppendAsync(new StreamAppend(id, "thing", "t", ExpectedVersion.NoStream, [new Noted("b")]), EventMetadata.None));

        (await store.ReadStreamAsync(id)).Exists.ShouldBeFalse();
        (await fixture.ScalarAsync($"SELECT count(*) FROM note_counts WHERE stream_id = '{id}'")).ShouldBe(0);
    }
}
