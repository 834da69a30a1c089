using System.Net;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

/// <summary>Each member's profile and ask: written by the member or a leader, kept as events, listed for the meeting.</summary>
public sealed class MemberProfileApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_member_writes_their_ask_the_history_is_kept_and_the_chapter_sees_the_current_asks_newest_first()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (anna, bram, cleo) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram", "Caterer"), await scenario.AddMemberAsync("Cleo"));
        var c = $"/api/chapters/{scenario.ChapterId}";

        var empty = await (await scenario.As(bram).GetAsync($"{c}/members/{anna}/profile")).ReadJsonAsync();
        empty["ask"].ShouldBeNull();
        empty["changedAt"].ShouldBeNull();

        (await scenario.As(anna).PutAsJsonAsync($"{c}/members/{anna}/profile", new { ask = "Introductions to new restaurant owners", skills = "Bookkeeping" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.As(anna).PutAsJsonAsync($"{c}/members/{anna}/profile", new { ask = "Introductions to new restaurant owners", skills = "Bookkeeping" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var written = await (await scenario.As(anna).PutAsJsonAsync($"{c}/members/{anna}/profile",
            new { ask = "Giới thiệu chủ nhà hàng mới", idealReferral = "A restaurant opening this spring", skills = "Bookkeeping" })).ReadJsonAsync();
        written["ask"]!.GetValue<string>().ShouldBe("Giới thiệu chủ nhà hàng mới");
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1 AND type = 'member.profile-changed.v1'", $"member-{anna}"))
            .ShouldBe(2, "the repeat changed nothing; both asks stay in the history");

        // A leader may write anyone's; another member may not.
        (await leader.PutAsJsonAsync($"{c}/members/{bram}/profile", new { ask = "Event planners" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.As(cleo).PutAsJsonAsync($"{c}/members/{anna}/profile", new { ask = "Hijacked" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.As(anna).PutAsJsonAsync($"{c}/members/{anna}/profile", new { ask = new string('x', 501) }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "ask");

        var asks = (await (await scenario.As(cleo).GetAsync($"{c}/asks")).ReadJsonAsync())["items"]!.AsArray();
        asks.Select(a => a!["memberId"]!.GetValue<Guid>()).ShouldBe([bram, anna], "the newest ask first; Cleo wrote none");
        asks[0]!["profession"]!.GetValue<string>().ShouldBe("Caterer");
        asks[1]!["idealReferral"]!.GetValue<string>().ShouldBe("A restaurant opening this spring");

        // A member who left keeps their profile, and their ask leaves the list.
        (await scenario.Operator.PostAsync($"{c}/members/{bram}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await (await leader.GetAsync($"{c}/asks")).ReadJsonAsync())["items"]!.AsArray().Select(a => a!["memberId"]!.GetValue<Guid>()).ShouldBe([anna]);
        await (await leader.PutAsJsonAsync($"{c}/members/{bram}/profile", new { ask = "Again" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_merge_patch_changes_only_the_fields_it_sends_and_null_clears_one()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var anna = await scenario.AddMemberAsync("Anna", "Accountant");
        var cleo = await scenario.AddMemberAsync("Cleo");
        var profile = $"/api/chapters/{scenario.ChapterId}/members/{anna}/profile";
        (await scenario.As(anna).PutAsJsonAsync(profile, new { ask = "Restaurant owners", idealReferral = "A restaurant opening", goals = "Ten clients", skills = "Bookkeeping" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);

        static HttpRequestMessage Patch(string path, string json) => new(HttpMethod.Patch, path)
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/merge-patch+json"),
        };
        var patched = await scenario.As(anna).SendAsync(Patch(profile, """{"ask":"Café owners","goals":null}"""));

        patched.StatusCode.ShouldBe(HttpStatusCode.OK);
        var written = await patched.ReadJsonAsync();
        written["ask"]!.GetValue<string>().ShouldBe("Café owners");
        written["goals"].ShouldBeNull();
        written["idealReferral"]!.GetValue<string>().ShouldBe("A restaurant opening");
        written["skills"]!.GetValue<string>().ShouldBe("Bookkeeping");
        // Nothing sent, nothing changed; the same rules as a PUT (length, who may).
        (await scenario.As(anna).SendAsync(Patch(profile, "{}"))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1 AND type = 'member.profile-changed.v1'", $"member-{anna}")).ShouldBe(2);
        await (await scenario.As(anna).SendAsync(Patch(profile, $$"""{"skills":"{{new string('x', 501)}}"}"""))).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "skills");
        await (await scenario.As(cleo).SendAsync(Patch(profile, """{"ask":"Hijacked"}"""))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
    }
}
