using Chapter.Testing;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>A database written by the first version, whose event store had tables of its own.</summary>
public sealed class PreviousStoreApiTests
{
    [Fact]
    public async Task A_database_with_events_in_the_previous_stores_tables_is_refused_at_start_not_silently_ignored()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            // The first version's tables, as its 001_event_store.sql made them, with one chapter's event.
            await using var command = new NpgsqlCommand(
                """
                CREATE TABLE streams (id text PRIMARY KEY, type text NOT NULL, version bigint NOT NULL, tenant_id text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE events (seq_id bigint PRIMARY KEY, stream_id text NOT NULL REFERENCES streams (id), version bigint NOT NULL,
                    type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL, tenant_id text NOT NULL,
                    timestamp timestamptz NOT NULL DEFAULT now(), tx_id xid8 NOT NULL DEFAULT pg_current_xact_id());
                INSERT INTO streams (id, type, version, tenant_id) VALUES ('chapter-old', 'chapter', 1, 'old');
                INSERT INTO events (seq_id, stream_id, version, type, data, metadata, tenant_id)
                VALUES (1, 'chapter-old', 1, 'chapter.created.v1', '{"chapterId":"old","name":"Old","timeZone":"Europe/Stockholm","currency":"SEK","createdAt":"2026-01-01T00:00:00Z"}', '{}', 'old');
                """, connection);
            await command.ExecuteNonQueryAsync();
        }

        await using var api = new ApiFixture();
        var failure = await Should.ThrowAsync<InvalidOperationException>(async () => await api.StartOnAsync(connectionString));

        failure.Message.ShouldContain("previous event store's tables");
        await using var check = new NpgsqlConnection(connectionString);
        await check.OpenAsync();
        await using var marten = new NpgsqlCommand("SELECT to_regclass('public.mt_events') IS NULL", check);
        (await marten.ExecuteScalarAsync()).ShouldBe(true, "nothing is written to a refused database");
    }
}
