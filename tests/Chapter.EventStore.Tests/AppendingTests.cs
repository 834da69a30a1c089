using Npgsql;

namespace Chapter.EventStore.Tests;

public sealed class AppendingTests(StoreFixture fixture) : IClassFixture<StoreFixture>
{
    private static string NewStreamId() => $"thing-{Guid.NewGuid():N}";

    private static StreamAppend Append(string streamId, ExpectedVersion expected, params object[] events) =>
        new(streamId, "thing", "chapter-a", expected, events);

    [Fact]
    public async Task Appended_events_read_back_in_order_with_versions_names_and_metadata()
    {
        var store = fixture.Store();
        var id = NewStreamId();
        var metadata = new EventMetadata("correlation-1", "causation-1", "member-7");

        var result = await store.AppendAsync(Append(id, ExpectedVersion.NoStream, new Opened("a"), new Noted("b")), metadata);
        await store.AppendAsync(Append(id, ExpectedVersion.Exactly(2), new Noted("c")), EventMetadata.None);

        result.StreamVersions[id].ShouldBe(2);
        var stream = await store.ReadStreamAsync(id);
        stream.Version.ShouldBe(3);
        stream.Events.Select(e => e.Version).ShouldBe([1L, 2L, 3L]);
        stream.Events.Select(e => e.Data).ShouldBe([new Opened("a"), new Noted("b"), new Noted("c")]);
        stream.Events[0].Metadata.ShouldBe(metadata);
        stream.Events[0].TenantId.ShouldBe("chapter-a");
        stream.Events.Select(e => e.Sequence).ShouldBeInOrder();
    }

    [Fact]
    public async Task Events_are_stored_under_their_stable_names_not_their_class_names()
    {
        var id = NewStreamId();
        await fixture.Store().AppendAsync(Append(id, ExpectedVersion.NoStream, new Opened("a")), EventMetadata.None);

        await using var command = fixture.DataSource.CreateCommand("SELECT type, data->>'name' FROM events WHERE stream_id = @id");
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).ShouldBeTrue();
        reader.GetString(0).ShouldBe("test.opened.v1");
        reader.GetString(1).ShouldBe("a");
    }

    [Fact]
    public async Task A_missing_stream_reads_as_version_zero_with_no_events()
    {
        var stream = await fixture.Store().ReadStreamAsync(NewStreamId());
        stream.Exists.ShouldBeFalse();
        stream.Events.ShouldBeEmpty();
    }

    [Fact]
    public async Task Appending_at_the_wrong_version_is_a_concurrency_error_that_stores_nothing()
    {
        var store = fixture.Store();
        var id = NewStreamId();
        await store.AppendAsync(Append(id, ExpectedVersion.NoStream, new Opened("a"), new Noted("b")), EventMetadata.None);

        var error = await Should.ThrowAsync<ConcurrencyException>(
            store.AppendAsync(Append(id, ExpectedVersion.Exactly(1), new Noted("late")), EventMetadata.None));

        error.StreamId.ShouldBe(id);
        error.ActualVersion.ShouldBe(2);
        (await store.ReadStreamAsync(id)).Version.ShouldBe(2);
    }

    [Fact]
    public async Task Expecting_a_version_of_a_stream_that_does_not_exist_is_a_concurrency_error()
    {
        var error = await Should.ThrowAsync<ConcurrencyException>(
            fixture.Store().AppendAsync(Append(NewStreamId(), ExpectedVersion.Exactly(3), new Noted("x")), EventMetadata.None));
        error.ActualVersion.ShouldBe(0);
    }

    [Fact]
    public async Task Starting_a_stream_that_exists_is_a_stream_exists_error()
    {
        var store = fixture.Store();
        var id = NewStreamId();
        await store.AppendAsync(Append(id, ExpectedVersion.NoStream, new Opened("a")), EventMetadata.None);

        await Should.ThrowAsync<StreamAlreadyExistsException>(
            store.AppendAsync(Append(id, ExpectedVersion.NoStream, new Opened("again")), EventMetadata.None));
        (await store.ReadStreamAsync(id)).Version.ShouldBe(1);
    }

    [Fact]
    public async Task Appending_to_several_streams_is_all_or_nothing()
    {
        var store = fixture.Store();
        var existing = NewStreamId();
        var fresh = NewStreamId();
        await store.AppendAsync(Append(existing, ExpectedVersion.NoStream, new Opened("a")), EventMetadata.None);

        await Should.ThrowAsync<ConcurrencyException>(store.AppendAsync(
            [Append(fresh, ExpectedVersion.NoStream, new Opened("fresh")), Append(existing, ExpectedVersion.Exactly(5), new Noted("x"))],
            EventMetadata.None));
        (await store.ReadStreamAsync(fresh)).Exists.ShouldBeFalse();

        var both = await store.AppendAsync(
            [Append(fresh, ExpectedVersion.NoStream, new Opened("fresh")), Append(existing, ExpectedVersion.Exactly(1), new Noted("x"))],
            EventMetadata.None);
        both.StreamVersions.ShouldBe(new Dictionary<string, long> { [fresh] = 1, [existing] = 2 });
    }

    [Fact]
    public async Task A_stream_cannot_be_appended_to_under_another_tenant()
    {
        var store = fixture.Store();
        var id = NewStreamId();
        await store.AppendAsync(Append(id, ExpectedVersion.NoStream, new Opened("a")), EventMetadata.None);

        await Should.ThrowAsync<InvalidOperationException>(store.AppendAsync(
            new StreamAppend(id, "thing", "chapter-b", ExpectedVersion.Any, [new Noted("x")]), EventMetadata.None));
    }

    [Fact]
    public async Task Reading_all_events_follows_the_global_sequence_from_a_position()
    {
        var store = fixture.Store();
        var first = await store.AppendAsync(Append(NewStreamId(), ExpectedVersion.NoStream, new Opened("1")), EventMetadata.None);
        var second = await store.AppendAsync(Append(NewStreamId(), ExpectedVersion.NoStream, new Opened("2"), new Noted("3")), EventMetadata.None);

        var after = await store.ReadAllAsync(first.LastSequence, 100);

        after.Select(e => e.Sequence).ShouldBeInOrder();
        after.Select(e => e.Sequence).ShouldBeSubsetOf(second.Events.Select(e => e.Sequence).Concat(after.Select(e => e.Sequence)));
        after.Take(2).Select(e => e.Data).ShouldBe([new Opened("2"), new Noted("3")]);
        (await store.ReadAllAsync(first.LastSequence, 1)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_stored_event_whose_name_no_code_knows_fails_loudly_on_read()
    {
        var id = NewStreamId();
        await fixture.Store().AppendAsync(Append(id, ExpectedVersion.NoStream, new Opened("a")), EventMetadata.None);
        await using (var command = fixture.DataSource.CreateCommand("UPDATE events SET type = 'test.from-the-future.v9' WHERE stream_id = @id"))
        {
            command.Parameters.AddWithValue("id", id);
            await command.ExecuteNonQueryAsync();
        }

        var error = await Should.ThrowAsync<UnknownEventTypeException>(fixture.Store().ReadStreamAsync(id));
        error.Name.ShouldBe("test.from-the-future.v9");
    }

    [Fact]
    public void An_event_class_without_a_stored_name_is_refused_before_anything_is_written()
    {
        Should.Throw<ArgumentException>(() => fixture.Types.NameOf(typeof(Deleted)));
    }

    [Fact]
    public async Task Migrating_twice_applies_each_script_once()
    {
        await SchemaMigrator.MigrateAsync(fixture.DataSource, SchemaMigrator.EventStoreMigrations);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
            SchemaMigrator.MigrateAsync(fixture.DataSource, SchemaMigrator.EventStoreMigrations)));

        (await fixture.ScalarAsync("SELECT count(*) FROM schema_versions WHERE component = 'event_store'"))
            .ShouldBe(SchemaMigrator.EventStoreMigrations.Count);
    }
}
