using System.Net;
using System.Text.Json.Nodes;
using Chapter.Testing;
using Npgsql;

namespace Chapter.Api.Tests;

/// <summary>
/// A rebuild stopped halfway, by the operator or by a restart, leaves the live tables as they were, and the next one
/// succeeds. An append held open keeps the rebuild halfway for as long as the test needs: Marten's daemon does not pass it, and
/// the copy takes the live tables' place only once it has every event committed when the rebuild was asked for.
/// </summary>
public sealed class RebuildInterruptedApiTests
{
    [Fact]
    public async Task A_cancelled_rebuild_leaves_the_live_tables_as_they_were_and_a_rerun_succeeds()
    {
        await using var api = new ApiFixture();
        await api.StartOnAsync(await TestPostgres.CreateDatabaseAsync());
        var scenario = await new Scenario(api).WithChapterAsync();
        for (var i = 0; i < 10; i++)
            await scenario.AddMemberAsync($"Before {i}");
        await api.WaitForProjectionsAsync();
        (await scenario.Operator.DeleteAsync("/api/admin/projections/activity/rebuild")).StatusCode.ShouldBe(HttpStatusCode.Conflict);

        await using var hold = await HoldAppendAsync(api, scenario);
        var live = await StatusAsync(scenario);
        for (var i = 0; i < 5; i++)
            await scenario.AddMemberAsync($"After {i}");

        (await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var halfway = await UntilAsync(scenario, s => s["rebuildPosition"]?.GetValue<long>() >= live.Position);
        halfway["state"]!.GetValue<string>().ShouldBe("rebuilding");
        halfway["position"]!.GetValue<long>().ShouldBe(live.Position, "reads come from the live tables");
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity__rebuild.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(10);

        (await scenario.Operator.DeleteAsync("/api/admin/projections/activity/rebuild")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var cancelled = await UntilAsync(scenario, s => !s["rebuildRequested"]!.GetValue<bool>());
        cancelled["state"]!.GetValue<string>().ShouldBe("running");
        cancelled["rebuildError"].ShouldBeNull();
        cancelled["rebuildPosition"].ShouldBeNull();
        cancelled["position"]!.GetValue<long>().ShouldBe(live.Position);
        (await api.ScalarTextAsync("SELECT coalesce(to_regnamespace('proj_activity__rebuild')::text, 'gone')")).ShouldBe("gone");
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(10);

        // The live tables go on from where they were: each event once.
        await hold.CommitAsync();
        await api.WaitForProjectionsAsync();
        (await api.ScalarAsync("SELECT count(DISTINCT id) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(15);
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(15);

        (await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var rebuilt = await UntilAsync(scenario, s => !s["rebuildRequested"]!.GetValue<bool>());
        rebuilt["rebuildError"].ShouldBeNull();
        await api.WaitForProjectionsAsync();
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(15);
    }

    [Fact]
    public async Task A_rebuild_interrupted_by_a_restart_leaves_the_live_tables_alone_and_starts_again_on_the_next_start()
    {
        var database = await TestPostgres.CreateDatabaseAsync();
        var first = new ApiFixture();
        await first.StartOnAsync(database);
        var scenario = await new Scenario(first).WithChapterAsync();
        for (var i = 0; i < 10; i++)
            await scenario.AddMemberAsync($"Before {i}");
        await first.WaitForProjectionsAsync();

        await using var hold = await HoldAppendAsync(first, scenario);
        var live = await StatusAsync(scenario);
        for (var i = 0; i < 5; i++)
            await scenario.AddMemberAsync($"After {i}");
        (await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await UntilAsync(scenario, s => s["rebuildPosition"]?.GetValue<long>() >= live.Position);
        await first.DisposeAsync(); // the host stops halfway through the rebuild

        await using var second = new ApiFixture();
        await second.StartOnAsync(database);
        var operatorOfSecond = second.Operator();
        // The copy goes on from where Marten's progression for it stood; the live tables keep their position and rows meanwhile.
        var restarted = await UntilAsync(operatorOfSecond, s => s["rebuildPosition"]?.GetValue<long>() >= live.Position);
        restarted["position"]!.GetValue<long>().ShouldBe(live.Position);
        (await second.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(10);
        (await second.ScalarAsync("SELECT count(*) FROM proj_activity__rebuild.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(10);

        await hold.CommitAsync();
        var done = await UntilAsync(operatorOfSecond, s => !s["rebuildRequested"]!.GetValue<bool>());
        done["rebuildError"].ShouldBeNull();
        await second.WaitForProjectionsAsync();
        (await second.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(15);
        (await second.ScalarAsync("SELECT count(*) FROM member_view WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(15);
    }

    [Fact]
    public async Task A_rebuild_is_refused_with_a_409_naming_an_event_type_this_version_does_not_know_and_the_live_tables_go_on()
    {
        await using var api = new ApiFixture();
        await api.StartOnAsync(await TestPostgres.CreateDatabaseAsync());
        var scenario = await new Scenario(api).WithChapterAsync();
        await scenario.AddMemberAsync("Anna");
        var unknown = await RawEvents.InsertAsync(api.ConnectionString, "member-from-the-future", scenario.ChapterId, "member.promoted.v9", """{"rank":"gold"}""",
            "Chapter.Domain.Members.MemberPromoted, Chapter.Domain");
        await scenario.AddMemberAsync("Bram");
        await api.WaitForProjectionsAsync();

        var refused = await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null);
        refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await refused.ReadJsonAsync();
        problem["detail"]!.GetValue<string>().ShouldContain($"Event {unknown}");
        problem["detail"]!.GetValue<string>().ShouldContain("member.promoted.v9");
        var status = await UntilAsync(scenario, _ => true);
        status["state"]!.GetValue<string>().ShouldBe("running");
        status["rebuildRequested"]!.GetValue<bool>().ShouldBeFalse();
        (await api.ScalarTextAsync("SELECT coalesce(to_regnamespace('proj_activity__rebuild')::text, 'gone')")).ShouldBe("gone");

        await scenario.AddMemberAsync("Cleo");
        await api.WaitForProjectionsAsync();
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(3);
    }

    /// <summary>An append that has taken its sequence number and not committed: the daemon holds before it.</summary>
    private static async Task<NpgsqlTransaction> HoldAppendAsync(ApiFixture api, Scenario scenario)
    {
        var connection = new NpgsqlConnection(api.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await RawEvents.InsertAsync(connection, $"member-held-{Guid.NewGuid():N}", scenario.ChapterId, "member.left.v1", "{}",
            "Chapter.Domain.Members.MemberLeft, Chapter.Domain", transaction);
        return transaction;
    }

    private sealed record Live(long Position);

    private static async Task<Live> StatusAsync(Scenario scenario) =>
        new((await UntilAsync(scenario, _ => true))["position"]!.GetValue<long>());

    private static Task<JsonNode> UntilAsync(Scenario scenario, Func<JsonNode, bool> condition) => UntilAsync(scenario.Operator, condition);

    private static async Task<JsonNode> UntilAsync(HttpClient operatorClient, Func<JsonNode, bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await operatorClient.GetAsync("/api/admin/projections");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var status = (await response.ReadJsonAsync())["items"]!.AsArray().Single()!;
                if (condition(status))
                    return status;
                if (DateTime.UtcNow > until)
                    throw new TimeoutException($"The projection's status did not get there in 30 s: {status.ToJsonString()}");
            }
            await Task.Delay(100);
        }
    }
}
