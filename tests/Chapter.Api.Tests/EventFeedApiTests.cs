using System.Net;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>The chapter's event feed, as an integration follows it page by page.</summary>
public sealed class EventFeedApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Following_next_reads_each_of_the_chapters_events_once_and_none_of_another_chapter()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var referral = await scenario.GiveAsync(anna, bram);
        await scenario.ActAsync(bram, referral, "accept", new { });
        var elsewhere = await new Scenario(api).WithChapterAsync();
        await elsewhere.AddMemberAsync("Stranger");
        var integration = await scenario.IntegrationAsync();
        var expected = await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE tenant_id = $1", scenario.ChapterId);

        var seen = new List<long>();
        string? after = null;
        var until = DateTime.UtcNow.AddSeconds(20);
        // Events show once every older transaction on the server has ended, so an empty page means "not yet".
        while (seen.Count < expected && DateTime.UtcNow < until)
        {
            var page = JsonNode.Parse(await integration.GetStringAsync(
                $"/api/chapters/{scenario.ChapterId}/events?limit=2{(after is null ? "" : $"&after={after}")}"))!;
            var items = page["items"]!.AsArray();
            items.Count.ShouldBeLessThanOrEqualTo(2);
            seen.AddRange(items.Select(i => i!["position"]!.GetValue<long>()));
            after = page["next"]!.GetValue<string>();
            if (items.Count == 0)
                await Task.Delay(25);
        }

        seen.Count.ShouldBe((int)expected);
        seen.ShouldBeUnique();
        seen.Order().ShouldBe(await PositionsAsync(scenario.ChapterId));
    }

    [Fact]
    public async Task A_bad_cursor_or_limit_is_named()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var integration = await scenario.IntegrationAsync();
        var feed = $"/api/chapters/{scenario.ChapterId}/events";

        await (await integration.GetAsync($"{feed}?after=yesterday")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "after");
        await (await integration.GetAsync($"{feed}?limit=0")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "limit");
        await (await integration.GetAsync($"{feed}?limit=1001")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "limit");
    }

    [Fact]
    public async Task A_cursor_this_chapters_feed_never_gave_is_refused_at_once_saying_where_to_start_again()
    {
        var elsewhere = await new Scenario(api).WithChapterAsync();
        await elsewhere.AddMemberAsync("Stranger");
        var scenario = await new Scenario(api).WithChapterAsync();
        await scenario.AddMemberAsync("Anna");
        var integration = await scenario.IntegrationAsync();
        var feed = $"/api/chapters/{scenario.ChapterId}/events";
        var newest = await api.ScalarAsync("SELECT max(seq_id) FROM mt_events WHERE tenant_id = $1", scenario.ChapterId);
        var anothers = await api.ScalarAsync("SELECT max(seq_id) FROM mt_events WHERE tenant_id = $1", elsewhere.ChapterId);
        var until = DateTime.UtcNow.AddSeconds(20);
        while (await api.ScalarAsync("SELECT last_seq_id FROM mt_event_progression WHERE name = 'HighWaterMark'") < newest && DateTime.UtcNow < until)
            await Task.Delay(50);
        (await integration.GetAsync($"{feed}?after={newest}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await integration.GetAsync($"{feed}?after=0")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var started = DateTime.UtcNow;
        var pastTheEnd = await integration.GetAsync($"{feed}?after={newest + 1000}&wait=30");
        var problem = await pastTheEnd.ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "after");
        (DateTime.UtcNow - started).ShouldBeLessThan(TimeSpan.FromSeconds(10), "wait never holds a cursor the feed never gave");
        problem["errors"]!["after"]![0]!.GetValue<string>().ShouldContain($"after={newest}");

        var problemOfAnother = await (await integration.GetAsync($"{feed}?after={anothers}&wait=30")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "after");
        problemOfAnother["errors"]!["after"]![0]!.GetValue<string>().ShouldContain("without 'after'");
        await (await integration.GetAsync($"{feed}?after=-1")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "after");
    }

    private async Task<long[]> PositionsAsync(string chapterId)
    {
        var positions = new List<long>();
        for (var i = 0L; ; i++)
        {
            var position = await api.ScalarAsync("SELECT coalesce((SELECT seq_id FROM mt_events WHERE tenant_id = $1 ORDER BY seq_id OFFSET $2 LIMIT 1), -1)", chapterId, i);
            if (position < 0)
                return [.. positions];
            positions.Add(position);
        }
    }
}
