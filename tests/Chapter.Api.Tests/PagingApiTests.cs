using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>Every list pages by cursor: {items, next}, next null on the last page, in a stable order, nothing twice or left out.</summary>
public sealed class PagingApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static async Task<List<List<string>>> PagesAsync(HttpClient client, string path, int limit)
    {
        var pages = new List<List<string>>();
        string? after = null;
        do
        {
            var separator = path.Contains('?') ? '&' : '?';
            var response = await client.GetAsync($"{path}{separator}limit={limit}{(after is null ? "" : $"&after={after}")}");
            response.StatusCode.ShouldBe(HttpStatusCode.OK, path);
            var page = await response.ReadJsonAsync();
            pages.Add(page["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToList());
            after = page["next"]?.GetValue<string>();
            pages.Count.ShouldBeLessThan(20, "the pages must end");
        } while (after is not null);
        return pages;
    }

    private static async Task<List<string>> AllAtOnceAsync(HttpClient client, string path) =>
        (await (await client.GetAsync(path)).ReadJsonAsync())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task Members_referrals_tokens_and_integration_keys_page_in_their_order_each_item_once()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var members = new List<Guid>();
        for (var i = 0; i < 6; i++)
            members.Add(await scenario.AddMemberAsync($"Member {i}"));
        for (var i = 0; i < 5; i++)
            await scenario.GiveAsync(members[i], members[i + 1]);
        for (var i = 0; i < 4; i++)
            (await scenario.Operator.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/integrations", new { label = $"crm {i}" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        for (var i = 0; i < 2; i++)
            await scenario.IssueTokenAsync(scenario.ChapterId, members[0]);
        var c = $"/api/chapters/{scenario.ChapterId}";

        foreach (var (path, count, limit) in new[] { ($"{c}/members", 7, 3), ($"{c}/referrals", 5, 2), ($"{c}/integrations", 4, 3), ($"{c}/members/{members[0]}/tokens", 3, 2) })
        {
            var pages = await PagesAsync(leader, path, limit);
            pages.Take(pages.Count - 1).ShouldAllBe(p => p.Count == limit, path);
            var paged = pages.SelectMany(p => p).ToList();
            paged.Count.ShouldBe(count, path);
            paged.ShouldBe(await AllAtOnceAsync(leader, path), path);
            paged.Distinct().Count().ShouldBe(count, path);
        }

        // The default page is 50; a list that fits says so with a null next.
        (await (await leader.GetAsync($"{c}/members")).ReadJsonAsync())["next"].ShouldBeNull();
        await (await leader.GetAsync($"{c}/members?limit=0")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "limit");
        await (await leader.GetAsync($"{c}/referrals?limit=501")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "limit");
        await (await leader.GetAsync($"{c}/integrations?after=not-a-cursor")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "after");
    }

    [Fact]
    public async Task A_page_boundary_holds_while_new_items_arrive_before_it()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        for (var i = 0; i < 4; i++)
            await scenario.GiveAsync(anna, bram);
        var referrals = $"/api/chapters/{scenario.ChapterId}/referrals";
        var first = await (await leader.GetAsync($"{referrals}?limit=2")).ReadJsonAsync();
        await scenario.GiveAsync(anna, bram); // newest first: it lands before the page already read
        var second = await (await leader.GetAsync($"{referrals}?limit=2&after={first["next"]!.GetValue<string>()}")).ReadJsonAsync();
        var seen = first["items"]!.AsArray().Concat(second["items"]!.AsArray()).Select(i => i!["id"]!.GetValue<string>()).ToList();
        seen.Distinct().Count().ShouldBe(4, "the second page goes on after the first, not shifted by the new referral");
    }

    [Fact]
    public async Task One_to_ones_and_webhooks_page_too_and_a_member_lists_only_their_own_one_to_ones()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var (anna, bram, cleo) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"), await scenario.AddMemberAsync("Cleo"));
        var c = $"/api/chapters/{scenario.ChapterId}";
        var today = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        // Two on the same day, so the order within a day (by id) is paged through too.
        foreach (var (a, b, daysAgo) in new[] { (anna, bram, 0), (anna, cleo, 0), (bram, cleo, 3), (anna, bram, 10), (bram, cleo, 12) })
            (await leader.PostAsJsonAsync($"{c}/one-to-ones", new { memberA = a, memberB = b, date = today.AddDays(-daysAgo), note = "Coffee" }))
                .StatusCode.ShouldBe(HttpStatusCode.Created);
        for (var i = 0; i < 3; i++)
            (await leader.PostAsJsonAsync($"{c}/webhooks", new { url = "https://93.184.216.34/hook", events = new[] { "*" }, label = $"crm {i}" }))
                .StatusCode.ShouldBe(HttpStatusCode.Created);

        foreach (var (path, count, limit) in new[] { ($"{c}/one-to-ones", 5, 2), ($"{c}/webhooks", 3, 2) })
        {
            var paged = (await PagesAsync(leader, path, limit)).SelectMany(p => p).ToList();
            paged.Count.ShouldBe(count, path);
            paged.Distinct().Count().ShouldBe(count, path);
            paged.ShouldBe(await AllAtOnceAsync(leader, path), path);
        }
        var all = (await (await leader.GetAsync($"{c}/one-to-ones")).ReadJsonAsync())["items"]!.AsArray();
        all.Select(o => DateOnly.Parse(o!["date"]!.GetValue<string>())).ShouldBeInOrder(SortDirection.Descending);
        all[0]!["note"]!.GetValue<string>().ShouldBe("Coffee");

        var annas = (await (await scenario.As(anna).GetAsync($"{c}/one-to-ones")).ReadJsonAsync())["items"]!.AsArray();
        annas.Count.ShouldBe(3);
        annas.ShouldAllBe(o => o!["memberA"]!.GetValue<Guid>() == anna || o["memberB"]!.GetValue<Guid>() == anna);
        (await scenario.As(anna).GetAsync($"{c}/one-to-ones?memberId={bram}")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await (await leader.GetAsync($"{c}/one-to-ones?memberId={cleo}")).ReadJsonAsync())["items"]!.AsArray().Count.ShouldBe(3);
    }
}
