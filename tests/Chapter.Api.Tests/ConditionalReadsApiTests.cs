using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace Chapter.Api.Tests;

/// <summary>What integrations that poll lean on: ETags with 304 on the projection reads, and a feed that waits for the next event.</summary>
public sealed class ConditionalReadsApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static async Task<HttpResponseMessage> GetIfNoneMatchAsync(HttpClient client, string path, EntityTagHeaderValue? etag)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (etag is not null)
            request.Headers.IfNoneMatch.Add(etag);
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task Projection_reads_carry_an_etag_answer_304_while_it_holds_and_a_new_one_after_a_change()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var anna = await scenario.AddMemberAsync("Anna");
        var bram = await scenario.AddMemberAsync("Bram");
        await scenario.GiveAsync(anna, bram);
        await api.WaitForProjectionsAsync();
        var c = $"/api/chapters/{scenario.ChapterId}";

        // Relationships, giving and reciprocity answer a window that ends with the minute of the read, so two reads a
        // moment apart match; a read that straddles a minute's end may see a new tag, which the loop allows once.
        foreach (var path in new[] { c, $"{c}/members", $"{c}/members/{anna}", $"{c}/reports/weekly/2026-W47",
                     $"{c}/members/{anna}/relationships", $"{c}/members/{anna}/giving", $"{c}/reciprocity" })
        {
            HttpResponseMessage first, again;
            var attempts = 0;
            do
            {
                first = await leader.GetAsync(path);
                first.StatusCode.ShouldBe(HttpStatusCode.OK, path);
                again = await GetIfNoneMatchAsync(leader, path, first.Headers.ETag.ShouldNotBeNull(path));
            } while (again.StatusCode == HttpStatusCode.OK && DateTime.UtcNow.Second < 2 && ++attempts < 2);
            first.Headers.Vary.ShouldContain("Authorization");
            again.StatusCode.ShouldBe(HttpStatusCode.NotModified, path);
            (await again.Content.ReadAsByteArrayAsync()).ShouldBeEmpty();
            (await GetIfNoneMatchAsync(leader, path, new EntityTagHeaderValue("\"something-else\""))).StatusCode.ShouldBe(HttpStatusCode.OK, path);
        }

        var members = await leader.GetAsync($"{c}/members");
        await scenario.AddMemberAsync("Cleo");
        var changed = await GetIfNoneMatchAsync(leader, $"{c}/members", members.Headers.ETag);
        changed.StatusCode.ShouldBe(HttpStatusCode.OK);
        changed.Headers.ETag.ShouldNotBe(members.Headers.ETag);
        (await changed.Content.ReadAsStringAsync()).ShouldContain("Cleo");
    }

    [Fact]
    public async Task The_feed_waits_for_the_next_event_and_answers_as_soon_as_it_commits()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        await scenario.AddMemberAsync("Anna");
        await api.WaitForProjectionsAsync();
        var integration = await scenario.IntegrationAsync();
        var feed = $"/api/chapters/{scenario.ChapterId}/events";
        var next = (await (await integration.GetAsync(feed)).ReadJsonAsync())["next"]!.GetValue<string>();

        var took = Stopwatch.StartNew();
        var waiting = integration.GetAsync($"{feed}?after={next}&wait=20");
        await Task.Delay(700);
        waiting.IsCompleted.ShouldBeFalse("nothing has happened yet");
        await scenario.AddMemberAsync("Bram");
        var page = await (await waiting).ReadJsonAsync();
        took.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        page["items"]!.AsArray().ShouldNotBeEmpty();

        took.Restart();
        var empty = await (await integration.GetAsync($"{feed}?after={page["next"]!.GetValue<string>()}&wait=1")).ReadJsonAsync();
        empty["items"]!.AsArray().ShouldBeEmpty();
        took.Elapsed.ShouldBeGreaterThan(TimeSpan.FromMilliseconds(700));
        took.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));

        await (await integration.GetAsync($"{feed}?wait=31")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "wait");
    }
}
