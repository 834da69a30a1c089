using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>A rebuild of the activity projection while members keep joining: nothing is lost or doubled, and reads go on.</summary>
public sealed class RebuildWhileWritingApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_rebuild_while_events_keep_arriving_ends_equal_to_the_events_and_reads_answer_throughout()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        for (var i = 0; i < 20; i++)
            await scenario.AddMemberAsync($"Before {i}");
        await api.WaitForProjectionsAsync();
        var integration = await scenario.IntegrationAsync();

        using var writing = new CancellationTokenSource();
        var joined = 0;
        var writer = Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                (await scenario.Operator.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members",
                    new { name = $"During {joined}", profession = "Trade", languages = new[] { "sv" } })).StatusCode.ShouldBe(HttpStatusCode.Created);
                Interlocked.Increment(ref joined);
            }
        });

        (await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var reads = 0;
        var until = DateTime.UtcNow.AddSeconds(30);
        JsonNode status;
        do
        {
            (await integration.GetAsync($"/api/chapters/{scenario.ChapterId}/reciprocity")).StatusCode.ShouldBe(HttpStatusCode.OK);
            reads++;
            status = (await (await scenario.Operator.GetAsync("/api/admin/projections")).ReadJsonAsync())["items"]!.AsArray().Single()!;
            await Task.Delay(20);
        } while (status["rebuildRequested"]!.GetValue<bool>() && DateTime.UtcNow < until);
        status["rebuildRequested"]!.GetValue<bool>().ShouldBeFalse();
        await Task.Delay(300); // appends go on a little after the swap too
        await writing.CancelAsync();
        await writer;

        await api.WaitForProjectionsAsync();
        joined.ShouldBeGreaterThan(0);
        reads.ShouldBeGreaterThan(0);
        (await api.ScalarAsync("SELECT count(*) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(20 + joined);
        (await api.ScalarAsync("SELECT count(DISTINCT id) FROM proj_activity.members WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(20 + joined);
        (await api.ScalarAsync("SELECT count(*) FROM member_view WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(20 + joined);
    }
}
