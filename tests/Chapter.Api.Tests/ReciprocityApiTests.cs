using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

public sealed class ReciprocityApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{

    private async Task<(Scenario Scenario, Guid A, Guid B, Guid C)> ThreeMembersAsync()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        return (scenario, await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"), await scenario.AddMemberAsync("Chi"));
    }

    private static async Task<JsonObject> GetAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.ReadJsonAsync();
    }

    [Fact]
    public async Task Help_going_around_the_chapter_in_time_order_shows_as_a_closed_loop()
    {
        var (scenario, a, b, c) = await ThreeMembersAsync();
        await scenario.GiveAsync(a, b);
        await scenario.GiveAsync(b, c);
        await scenario.GiveAsync(c, a);
        await api.WaitForProjectionsAsync();

        var figures = await GetAsync(await scenario.IntegrationAsync(), $"/api/chapters/{scenario.ChapterId}/reciprocity?weeks=4");

        figures["activeMembers"]!.GetValue<int>().ShouldBe(3);
        figures["cycleShare"]!.GetValue<double>().ShouldBe(1);
        figures["circulation"]!.GetValue<double>().ShouldBe(1);
        figures["loopClosures"]!.GetValue<double>().ShouldBe(1);
        figures["payItForwardRate"]!.GetValue<double>().ShouldBe(Math.Round(2 / 3.0, 4));
        figures["asOf"]!["position"]!.GetValue<long>().ShouldBe(await api.ScalarAsync("SELECT max(seq_id) FROM mt_events"));
        figures["asOf"]!["timestamp"].ShouldNotBeNull();
    }

    [Fact]
    public async Task A_members_ties_count_referrals_thanks_and_one_to_ones_and_compare_nothing()
    {
        var (scenario, a, b, c) = await ThreeMembersAsync();
        var referral = await scenario.GiveAsync(a, b);
        await scenario.ActAsync(b, referral, "accept", new { memberId = b });
        await scenario.ActAsync(b, referral, "thank", new { memberId = b, note = "We met, thank you" });
        var today = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        (await scenario.As(a).PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/one-to-ones", new { memberA = a, memberB = c, date = today }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        await api.WaitForProjectionsAsync();

        var ties = (await GetAsync(await scenario.IntegrationAsync(), $"/api/chapters/{scenario.ChapterId}/members/{a}/relationships"))["items"]!.AsArray();

        ties.Select(t => t!["memberId"]!.GetValue<Guid>()).ShouldBe([b, c]);
        ties[0]!["interactions"]!.GetValue<int>().ShouldBe(2);
        ties[0]!["strength"]!.GetValue<double>().ShouldBeInRange(1.9, 2.0);
        ties[1]!["interactions"]!.GetValue<int>().ShouldBe(1);
        ties[0]!.AsObject().Select(p => p.Key).ShouldBe(
            ["memberId", "name", "strength", "interactions", "firstInteractionAt", "lastInteractionAt"], ignoreOrder: true);
    }

    [Fact]
    public async Task The_giving_profile_counts_people_helped_and_thanks()
    {
        var (scenario, a, b, c) = await ThreeMembersAsync();
        var toB = await scenario.GiveAsync(a, b);
        await scenario.GiveAsync(a, c);
        await scenario.GiveAsync(a, c);
        await scenario.GiveAsync(c, a);
        await scenario.ActAsync(b, toB, "accept", new { memberId = b });
        await scenario.ActAsync(b, toB, "close", new { memberId = b, outcome = "won", value = new { amount = 800m, currency = "SEK" } });
        await scenario.ActAsync(b, toB, "thank", new { memberId = b, note = "Signed!" });
        await api.WaitForProjectionsAsync();

        var profile = await GetAsync(await scenario.IntegrationAsync(), $"/api/chapters/{scenario.ChapterId}/members/{a}/giving?weeks=12");

        profile["given"]!.GetValue<int>().ShouldBe(3);
        profile["distinctPeopleHelped"]!.GetValue<int>().ShouldBe(2);
        profile["received"]!.GetValue<int>().ShouldBe(1);
        profile["distinctHelpers"]!.GetValue<int>().ShouldBe(1);
        profile["thanksReceived"]!.GetValue<int>().ShouldBe(1);
        profile["thanksGiven"]!.GetValue<int>().ShouldBe(0);
        profile["givingStreakWeeks"]!.GetValue<int>().ShouldBe(1);
        profile["closedWonValue"]!.AsArray().Single()!["amount"]!.GetValue<decimal>().ShouldBe(800m);
        profile["asOf"].ShouldNotBeNull();
    }

    [Fact]
    public async Task Bad_windows_and_unknown_members_are_refused()
    {
        var (scenario, a, _, _) = await ThreeMembersAsync();
        var reader = await scenario.IntegrationAsync();
        await (await reader.GetAsync($"/api/chapters/{scenario.ChapterId}/reciprocity?weeks=0")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "weeks");
        await (await reader.GetAsync($"/api/chapters/{scenario.ChapterId}/members/{a}/giving?weeks=500")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "weeks");
        await (await reader.GetAsync($"/api/chapters/{scenario.ChapterId}/members/{Guid.NewGuid()}/relationships")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await reader.GetAsync("/api/chapters/nowhere/reciprocity")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task One_to_ones_are_checked_and_safe_to_retry()
    {
        var (scenario, a, b, _) = await ThreeMembersAsync();
        var path = $"/api/chapters/{scenario.ChapterId}/one-to-ones";
        var anna = scenario.As(a);
        var id = Guid.NewGuid();
        var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

        (await anna.PostAsJsonAsync(path, new { id, memberA = a, memberB = b, date = yesterday, note = "Coffee" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await anna.PostAsJsonAsync(path, new { id, memberA = a, memberB = b, date = yesterday, note = "Coffee" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await anna.PostAsJsonAsync(path, new { memberA = a, memberB = b, date = yesterday.AddDays(3) }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "date");
        await (await anna.PostAsJsonAsync(path, new { memberA = a, memberB = a, date = yesterday }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "memberB");
        await (await anna.PostAsJsonAsync(path, new { memberA = a })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "memberB", "date");
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"one-to-one-{id}")).ShouldBe(1);
    }

    [Fact]
    public async Task Operators_see_each_projections_status_and_can_rebuild_it_without_losing_reads()
    {
        var (scenario, a, b, c) = await ThreeMembersAsync();
        await scenario.GiveAsync(a, b);
        await scenario.GiveAsync(b, c);
        await scenario.GiveAsync(c, a);
        await api.WaitForProjectionsAsync();
        var before = await GetAsync(await scenario.IntegrationAsync(), $"/api/chapters/{scenario.ChapterId}/reciprocity");

        var status = (await GetAsync(scenario.Operator, "/api/admin/projections"))["items"]!.AsArray().Single()!;
        status["name"]!.GetValue<string>().ShouldBe("activity");
        status["state"]!.GetValue<string>().ShouldBe("running");
        status["lagEvents"]!.GetValue<long>().ShouldBe(0);

        var rebuild = await scenario.Operator.PostAsync("/api/admin/projections/activity/rebuild", null);
        rebuild.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await rebuild.ReadJsonAsync())["rebuildRequested"]!.GetValue<bool>().ShouldBeTrue();
        var until = DateTime.UtcNow.AddSeconds(20);
        while ((await GetAsync(scenario.Operator, "/api/admin/projections"))["items"]!.AsArray().Single()!["rebuildRequested"]!.GetValue<bool>() && DateTime.UtcNow < until)
        {
            // Reads go on from the live tables while the rebuild runs.
            (await (await scenario.IntegrationAsync()).GetAsync($"/api/chapters/{scenario.ChapterId}/reciprocity")).StatusCode.ShouldBe(HttpStatusCode.OK);
            await Task.Delay(50);
        }

        // The rebuild finished: reads alone cannot tell, as they come from the live tables until the swap.
        (await GetAsync(scenario.Operator, "/api/admin/projections"))["items"]!.AsArray().Single()!["rebuildRequested"]!.GetValue<bool>()
            .ShouldBeFalse("the rebuild ends within 20 s");
        var after = await GetAsync(await scenario.IntegrationAsync(), $"/api/chapters/{scenario.ChapterId}/reciprocity");
        after["cycleShare"]!.GetValue<double>().ShouldBe(before["cycleShare"]!.GetValue<double>());
        after["loopClosures"]!.GetValue<double>().ShouldBe(1);
        await (await scenario.Operator.PostAsync("/api/admin/projections/nope/rebuild", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}
