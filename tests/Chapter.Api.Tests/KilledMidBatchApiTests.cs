using System.Net;
using System.Net.Http.Json;
using Chapter.Testing;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>
/// EVENTSTORE case 7 with a real crash: the process is killed (SIGKILL) after its projection batch was applied and
/// while the batch's checkpoint is being written, so neither has committed. The next process applies the batch again,
/// once: the read model equals a clean run.
/// </summary>
public sealed class KilledMidBatchApiTests
{
    [Fact]
    public async Task A_process_killed_between_applying_a_batch_and_committing_its_checkpoint_leaves_no_double_apply()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var chapterId = $"chapter-{Guid.NewGuid():N}"[..20];
        using var killed = ServiceProcess.Start(connectionString, out var baseAddress);
        await ServiceProcess.WaitUntilListeningAsync(killed, baseAddress);
        using var operatorOfKilled = ServiceProcess.Client(baseAddress, ApiFixture.OperatorToken);
        (await operatorOfKilled.PostAsJsonAsync("/api/chapters", new { id = chapterId, name = "Stockholm City", timeZone = "Europe/Stockholm", currency = "SEK" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        async Task<Guid> JoinAsync(string name)
        {
            var joined = await operatorOfKilled.PostAsJsonAsync($"/api/chapters/{chapterId}/members", new { name, profession = "Baker", languages = new[] { "sv" } });
            joined.StatusCode.ShouldBe(HttpStatusCode.Created);
            return (await joined.ReadJsonAsync())["id"]!.GetValue<Guid>();
        }
        async Task<HttpClient> SignInAsync(Guid member)
        {
            var issued = await operatorOfKilled.PostAsJsonAsync($"/api/chapters/{chapterId}/members/{member}/tokens", new { label = "tests" });
            return ServiceProcess.Client(baseAddress, (await issued.ReadJsonAsync())["token"]!.GetValue<string>());
        }
        var (anna, bram) = (await JoinAsync("Anna"), await JoinAsync("Bram"));
        using var asAnna = await SignInAsync(anna);
        using var asBram = await SignInAsync(bram);
        var referral = Guid.NewGuid();
        (await asAnna.PostAsJsonAsync($"/api/chapters/{chapterId}/referrals", new
        {
            referralId = referral, receiverId = bram, need = "New office lease", temperature = "warm", language = "sv",
            prospect = new { name = "Sara Lind", consent = true },
        })).StatusCode.ShouldBe(HttpStatusCode.Created);
        await UntilAsync(connectionString, "SELECT count(*) FROM proj_activity.referrals", 1);

        // From now on, writing the activity projection's checkpoint takes 10 s: the batch before it is applied and open.
        await Sql.ExecuteAsync(connectionString,
            """
            CREATE FUNCTION checkpoint_slowly() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.name = 'activity:All' THEN PERFORM pg_sleep(10); END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER checkpoint_slowly BEFORE INSERT OR UPDATE ON mt_event_progression FOR EACH ROW EXECUTE FUNCTION checkpoint_slowly();
            """);
        // A referral's step is inserted as a row of its own (no key to conflict on): applied twice, it would show twice.
        (await asBram.PostAsJsonAsync($"/api/chapters/{chapterId}/referrals/{referral}/accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await JoinAsync("During");
        await UntilAsync(connectionString, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'", 1);
        // The step is applied inside the open batch: visible to it, not to anyone else.
        (await Sql.CountAsync(connectionString, "SELECT count(*) FROM proj_activity.referral_steps")).ShouldBe(0);

        killed.Kill(entireProcessTree: true); // SIGKILL: nothing of the batch or its checkpoint is committed
        await killed.WaitForExitAsync();
        await Sql.ExecuteAsync(connectionString, "DROP TRIGGER checkpoint_slowly ON mt_event_progression"); // waits for the orphaned batch to end
        (await Sql.CountAsync(connectionString, "SELECT count(*) FROM proj_activity.referral_steps")).ShouldBe(0);

        await using var next = new ApiFixture();
        await next.StartOnAsync(connectionString);
        await JoinAsync2(next, chapterId, "After");
        await next.WaitForProjectionsAsync();

        var joined = await next.ScalarAsync("SELECT count(*) FROM mt_events WHERE type = 'member.joined.v1' AND tenant_id = $1", chapterId);
        joined.ShouldBe(4); // Anna, Bram, one during the open batch, one after
        (await next.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", chapterId)).ShouldBe(joined);
        (await next.ScalarAsync("SELECT count(*) FROM proj_activity.referral_steps WHERE chapter_id = $1 AND referral_id = $2", chapterId, referral))
            .ShouldBe(1, "the accept, applied once");
        (await next.ScalarAsync("SELECT count(*) FROM proj_activity.referrals WHERE chapter_id = $1", chapterId)).ShouldBe(1);
    }

    private static async Task JoinAsync2(ApiFixture api, string chapterId, string name) =>
        (await api.Operator().PostAsJsonAsync($"/api/chapters/{chapterId}/members", new { name, profession = "Baker", languages = new[] { "sv" } }))
        .StatusCode.ShouldBe(HttpStatusCode.Created);

    private static async Task<long> UntilAsync(string connectionString, string sql, long expected)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        long seen;
        while ((seen = await Sql.CountAsync(connectionString, sql)) < expected && DateTime.UtcNow < until)
            await Task.Delay(100);
        seen.ShouldBe(expected, sql);
        return seen;
    }
}
