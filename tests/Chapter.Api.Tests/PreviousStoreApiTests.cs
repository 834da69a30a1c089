using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Chapter.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>
/// A database written by the first version, whose event store had tables of its own (events, streams): its events are
/// imported into Marten's tables by the operator's command, once, and every read answers as before.
/// </summary>
public sealed class PreviousStoreApiTests
{
    // The first version's event store, as its scripts (001_event_store.sql, 002_projection_progress.sql,
    // 003_tenant_feed_index.sql) left it.
    private const string PreviousStoreSchema =
        """
        CREATE SEQUENCE event_sequence AS bigint CACHE 1;
        CREATE TABLE streams (id text PRIMARY KEY, type text NOT NULL, version bigint NOT NULL CHECK (version > 0), tenant_id text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE events (seq_id bigint PRIMARY KEY, stream_id text NOT NULL REFERENCES streams (id), version bigint NOT NULL, type text NOT NULL,
            data jsonb NOT NULL, metadata jsonb NOT NULL, tenant_id text NOT NULL, timestamp timestamptz NOT NULL DEFAULT now(),
            tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(), UNIQUE (stream_id, version));
        CREATE INDEX events_tx_id_seq_id ON events (tx_id, seq_id);
        CREATE INDEX events_tenant_tx_id_seq_id ON events (tenant_id, tx_id, seq_id);
        CREATE TABLE projection_progress (name text PRIMARY KEY, last_tx xid8 NOT NULL DEFAULT '0', last_seq bigint NOT NULL DEFAULT 0,
            max_seq bigint NOT NULL DEFAULT 0, applied_events bigint NOT NULL DEFAULT 0, skipped_unknown bigint NOT NULL DEFAULT 0,
            state text NOT NULL DEFAULT 'running', error text, error_seq bigint, leader text, rebuild_requested boolean NOT NULL DEFAULT false,
            rebuild_error text, schema_hash text, updated_at timestamptz NOT NULL DEFAULT now());
        """;

    [Fact]
    public async Task A_database_of_the_previous_store_is_imported_once_and_every_read_answers_as_before()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        // Both services read at the same moment: relationship strengths decay with time, and the two reads are seconds apart.
        var now = new FrozenTime(DateTimeOffset.UtcNow);
        Action<IServiceCollection> sameClock = services => services.AddSingleton<TimeProvider>(now);
        string chapterId, leaderToken;
        Dictionary<string, string> before;
        long events;
        await using (var first = new ApiFixture { ExtraServices = sameClock })
        {
            await first.StartOnAsync(connectionString);
            var scenario = await new Scenario(first).WithChapterAsync();
            chapterId = scenario.ChapterId;
            var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
            var cleo = await scenario.AddMemberAsync("Cleo");
            var lena = await scenario.AddLeaderAsync("Lena");
            leaderToken = await scenario.IssueTokenAsync(chapterId, lena);
            var won = await scenario.GiveAsync(anna, bram);
            (await scenario.ActAsync(bram, won, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await scenario.ActAsync(bram, won, "close", new { outcome = "won", value = new { amount = 12000, currency = "SEK" } })).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await scenario.ActAsync(bram, won, "thank", new { note = "Signed!" })).StatusCode.ShouldBe(HttpStatusCode.OK);
            var erased = await scenario.GiveAsync(bram, cleo);
            (await scenario.As(bram).DeleteAsync($"{scenario.Referrals}/{erased}/prospect")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
            await scenario.GiveAsync(cleo, anna);
            (await scenario.As(anna).PostAsJsonAsync($"/api/chapters/{chapterId}/one-to-ones", new { memberA = anna, memberB = cleo, date = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd") }))
                .StatusCode.ShouldBe(HttpStatusCode.Created);
            (await scenario.Operator.PostAsync($"/api/chapters/{chapterId}/members/{cleo}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
            await first.WaitForProjectionsAsync();
            before = await ReadEverythingAsync(first.ClientWith(leaderToken), chapterId, [anna, bram, cleo], [won, erased]);
            events = await first.ScalarAsync("SELECT count(*) FROM mt_events");
        }

        await RewriteAsThePreviousStoreAsync(connectionString);
        var oldCursor = await OldCursorAfterThirdEventAsync(connectionString, chapterId);

        // Not imported yet, the service refuses to start (rather than serve an empty store), and names the command.
        await using (var early = new ApiFixture())
            (await Should.ThrowAsync<InvalidOperationException>(async () => await early.StartOnAsync(connectionString))).Message.ShouldContain("import-previous-store");
        var (exitCode, output) = await ServiceProcess.RunCommandAsync(connectionString, "import-previous-store");
        exitCode.ShouldBe(0, output);
        output.ShouldContain($"Imported {events} events.");
        (await ServiceProcess.RunCommandAsync(connectionString, "import-previous-store")).Output.ShouldContain("Nothing to import");

        await using var second = new ApiFixture { ExtraServices = sameClock };
        await second.StartOnAsync(connectionString);
        (await second.ScalarAsync("SELECT count(*) FROM mt_events")).ShouldBe(events);
        (await second.ScalarAsync("SELECT count(*) FROM events_imported_to_marten")).ShouldBe(events);
        await second.WaitForProjectionsAsync();
        var leader = second.ClientWith(leaderToken);
        var after = await ReadEverythingAsync(leader, chapterId, before.Keys);
        foreach (var (path, body) in before)
            after[path].ShouldBe(body, $"GET {path} answers as before the import");

        // An integration's old cursor is refused with where to start again; new appends go on after the imported numbers.
        var refused = await (await leader.GetAsync($"/api/chapters/{chapterId}/events?after={oldCursor.Cursor}"))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "after");
        refused["errors"]!["after"]![0]!.GetValue<string>().ShouldContain($"after={oldCursor.ResumeAfter}");
        (await second.Operator().PostAsJsonAsync($"/api/chapters/{chapterId}/members", new { name = "Dana", profession = "Baker", languages = new[] { "sv" } }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        (await second.ScalarAsync("SELECT min(seq_id) FROM mt_events WHERE stream_id IN (SELECT id FROM mt_streams WHERE id NOT IN (SELECT id FROM streams_imported_to_marten))"))
            .ShouldBeGreaterThan(await second.ScalarAsync("SELECT max(seq_id) FROM events_imported_to_marten"));
    }

    private sealed class FrozenTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>Every read a leader has of the chapter, by path: the feed whole, page by page.</summary>
    private static async Task<Dictionary<string, string>> ReadEverythingAsync(HttpClient leader, string chapterId, IEnumerable<string> paths)
    {
        var bodies = new Dictionary<string, string>();
        foreach (var path in paths)
            bodies[path] = path.Contains("/events") ? await ReadFeedAsync(leader, path) : WithoutTheWindow(await leader.GetStringAsync(path));
        return bodies;
    }

    // Windows of "the last N weeks" end at the moment of the read, which differs between the two reads.
    private static string WithoutTheWindow(string body)
    {
        if (JsonNode.Parse(body) is not JsonObject json)
            return body;
        json.Remove("from");
        json.Remove("to");
        return json.ToJsonString();
    }

    private static Task<Dictionary<string, string>> ReadEverythingAsync(HttpClient leader, string chapterId, Guid[] members, Guid[] referrals)
    {
        var c = $"/api/chapters/{chapterId}";
        var paths = new List<string> { c, $"{c}/members", $"{c}/referrals", $"{c}/one-to-ones", $"{c}/reciprocity?weeks=12", $"{c}/reports/weekly/latest", $"{c}/events" };
        paths.AddRange(referrals.Select(r => $"{c}/referrals/{r}"));
        paths.AddRange(members.SelectMany(m => new[] { $"{c}/members/{m}", $"{c}/members/{m}/relationships", $"{c}/members/{m}/giving?weeks=12" }));
        return ReadEverythingAsync(leader, chapterId, paths);
    }

    private static async Task<string> ReadFeedAsync(HttpClient leader, string path)
    {
        var items = new JsonArray();
        string? after = null;
        while (true)
        {
            var page = JsonNode.Parse(await leader.GetStringAsync($"{path}?limit=3{(after is null ? "" : $"&after={after}")}"))!;
            var pageItems = page["items"]!.AsArray();
            if (pageItems.Count == 0)
                return items.ToJsonString();
            foreach (var item in pageItems)
                items.Add(item!.DeepClone());
            after = page["next"]!.GetValue<string>();
        }
    }

    /// <summary>The database as the first version would have left it: its events in its own tables, no Marten objects.</summary>
    private static async Task RewriteAsThePreviousStoreAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            PreviousStoreSchema +
            """
            INSERT INTO streams (id, type, version, tenant_id, created_at, updated_at)
            SELECT id, CASE WHEN id LIKE 'one-to-one-%' THEN 'one-to-one' ELSE split_part(id, '-', 1) END, version, tenant_id, created, timestamp
            FROM mt_streams;
            INSERT INTO events (seq_id, stream_id, version, type, data, metadata, tenant_id, timestamp)
            SELECT seq_id, stream_id, version, type, data,
                   jsonb_build_object('correlationId', correlation_id, 'causationId', causation_id, 'actorId', user_name), tenant_id, timestamp
            FROM mt_events;
            SELECT setval('event_sequence', (SELECT max(seq_id) FROM events));
            DO $$ DECLARE o record; BEGIN
                FOR o IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'mt\_%' LOOP
                    EXECUTE format('DROP TABLE %I CASCADE', o.tablename); END LOOP;
                FOR o IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND sequencename LIKE 'mt\_%' LOOP
                    EXECUTE format('DROP SEQUENCE %I CASCADE', o.sequencename); END LOOP;
                FOR o IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                         WHERE n.nspname = 'public' AND p.proname LIKE 'mt\_%' LOOP
                    EXECUTE format('DROP FUNCTION %s CASCADE', o.f); END LOOP;
            END $$;
            -- The first version had no introductions (read models scripts 003 and later).
            ALTER TABLE referral_view DROP COLUMN introduced_at;
            DROP TABLE one_to_one_view;
            DROP TABLE meeting_attendance;
            DROP TABLE meeting_view;
            DROP TABLE member_profile_view;
            DROP TABLE visitor_view;
            ALTER TABLE chapter_view DROP COLUMN contact_spheres;
            """, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<(string Cursor, long ResumeAfter)> OldCursorAfterThirdEventAsync(string connectionString, string chapterId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            WITH feed AS (SELECT tx_id, seq_id, row_number() OVER (ORDER BY tx_id, seq_id) AS n FROM events WHERE tenant_id = $1)
            SELECT (SELECT tx_id::text || '-' || seq_id FROM feed WHERE n = 3), (SELECT seq_id - 1 FROM feed WHERE n = 4)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = chapterId });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetString(0), reader.GetInt64(1));
    }
}
