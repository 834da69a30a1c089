using System.Net;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

public sealed class ChapterAndMemberApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    // The operator creates chapters and members; who else may is the access matrix's business.
    private readonly HttpClient _http = api.Operator();

    [Fact]
    public async Task A_created_chapter_is_at_its_location()
    {
        var response = await _http.PostAsJsonAsync("/api/chapters", new { id = "hanoi-1", name = "Hà Nội 1", timeZone = "Asia/Ho_Chi_Minh", currency = "VND" });

        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        response.Headers.Location!.ToString().ShouldBe("/api/chapters/hanoi-1");
        var chapter = await (await _http.GetAsync("/api/chapters/hanoi-1")).ReadJsonAsync();
        chapter["name"]!.GetValue<string>().ShouldBe("Hà Nội 1");
        chapter["timeZone"]!.GetValue<string>().ShouldBe("Asia/Ho_Chi_Minh");
        chapter["currency"]!.GetValue<string>().ShouldBe("VND");
        chapter["tieHalfLifeDays"]!.GetValue<int>().ShouldBe(90);
    }

    [Fact]
    public async Task A_chapters_first_event_belongs_to_it_and_carries_its_cause_though_its_id_came_in_the_body()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chapters")
        {
            Content = JsonContent.Create(new { id = "lund-1", name = "Lund", timeZone = "Europe/Stockholm", currency = "SEK" }),
        };
        request.Headers.Add("X-Correlation-Id", "new-chapter-7");
        (await _http.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var created = await api.ScalarJsonAsync(
            "SELECT json_build_object('tenant', tenant_id, 'correlationId', correlation_id, 'actorId', user_name)::text FROM mt_events WHERE stream_id = $1",
            "chapter-lund-1");
        created["tenant"]!.GetValue<string>().ShouldBe("lund-1");
        created["correlationId"]!.GetValue<string>().ShouldBe("new-chapter-7");
        created["actorId"]!.GetValue<string>().ShouldStartWith("operator");
    }

    [Fact]
    public async Task A_chapter_chooses_how_fast_ties_fade()
    {
        (await _http.PostAsJsonAsync("/api/chapters", new { id = "fast-fade", name = "Fast", timeZone = "Europe/Stockholm", currency = "SEK", tieHalfLifeDays = 30 }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        (await (await _http.GetAsync("/api/chapters/fast-fade")).ReadJsonAsync())["tieHalfLifeDays"]!.GetValue<int>().ShouldBe(30);
        await (await _http.PostAsJsonAsync("/api/chapters", new { id = "no-fade", name = "No", timeZone = "Europe/Stockholm", currency = "SEK", tieHalfLifeDays = 0 }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "tieHalfLifeDays");
    }

    [Fact]
    public async Task Creating_a_chapter_that_exists_is_a_conflict_and_keeps_the_first()
    {
        await _http.PostAsJsonAsync("/api/chapters", new { id = "utrecht", name = "Utrecht", timeZone = "Europe/Amsterdam", currency = "EUR" });

        var again = await _http.PostAsJsonAsync("/api/chapters", new { id = "utrecht", name = "Other", timeZone = "Europe/Amsterdam", currency = "EUR" });

        await again.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await (await _http.GetAsync("/api/chapters/utrecht")).ReadJsonAsync())["name"]!.GetValue<string>().ShouldBe("Utrecht");
    }

    [Fact]
    public async Task A_chapter_with_bad_fields_is_refused_naming_each_field()
    {
        var response = await _http.PostAsJsonAsync("/api/chapters", new { id = "Not A Slug", name = "", timeZone = "Mars/Olympus_Mons", currency = "XYZ" });
        await response.ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "id", "name", "timeZone", "currency");
    }

    [Fact]
    public async Task Names_over_200_characters_are_refused()
    {
        var response = await _http.PostAsJsonAsync("/api/chapters", new { id = "long-name", name = new string('x', 201), timeZone = "Europe/Stockholm", currency = "SEK" });
        await response.ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "name");
    }

    [Fact]
    public async Task An_unknown_chapter_is_not_found()
    {
        await (await _http.GetAsync("/api/chapters/nowhere")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await _http.GetAsync("/api/chapters/nowhere/members")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await _http.PostAsJsonAsync("/api/chapters/nowhere/members", new { name = "A", profession = "B", languages = new[] { "sv" } }))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Members_join_and_are_listed_with_their_languages()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var response = await _http.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members",
            new { name = "Nguyễn Văn An", profession = "Accountant", languages = new[] { "VI", "en-gb" } });

        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var member = await response.ReadJsonAsync();
        response.Headers.Location!.ToString().ShouldBe($"/api/chapters/{scenario.ChapterId}/members/{member["id"]}");
        member["status"]!.GetValue<string>().ShouldBe("active");
        member["languages"]!.AsArray().Select(l => l!.GetValue<string>()).ShouldBe(["vi", "en-GB"]);

        var list = await (await _http.GetAsync($"/api/chapters/{scenario.ChapterId}/members")).ReadJsonAsync();
        list["items"]!.AsArray().Select(m => m!["name"]!.GetValue<string>()).ShouldBe(["Nguyễn Văn An"]);
    }

    [Fact]
    public async Task A_member_is_a_member_unless_added_as_a_leader()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var members = $"/api/chapters/{scenario.ChapterId}/members";

        var member = await (await _http.PostAsJsonAsync(members, new { name = "An", profession = "Baker", languages = new[] { "vi" } })).ReadJsonAsync();
        var leader = await (await _http.PostAsJsonAsync(members, new { name = "Lena", profession = "Lawyer", languages = new[] { "sv" }, role = "leader" })).ReadJsonAsync();

        member["role"]!.GetValue<string>().ShouldBe("member");
        leader["role"]!.GetValue<string>().ShouldBe("leader");
        await (await _http.PostAsJsonAsync(members, new { name = "X", profession = "Y", languages = new[] { "sv" }, role = "boss" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "role");
    }

    [Fact]
    public async Task A_member_with_bad_fields_is_refused_naming_each_field()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var response = await _http.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members",
            new { name = " ", profession = new string('p', 201), languages = new[] { "sv", "swedish" } });
        await response.ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "name", "profession", "languages[1]");

        var noLanguages = await _http.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members", new { name = "A", profession = "B" });
        await noLanguages.ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "languages");
        (await api.ScalarAsync("SELECT count(*) FROM member_view WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(0);
    }

    [Fact]
    public async Task A_member_who_leaves_stays_listed_as_left()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var anna = await scenario.AddMemberAsync("Anna");

        var left = await _http.PostAsync($"/api/chapters/{scenario.ChapterId}/members/{anna}/leave", null);
        var again = await _http.PostAsync($"/api/chapters/{scenario.ChapterId}/members/{anna}/leave", null);

        (await left.ReadJsonAsync())["status"]!.GetValue<string>().ShouldBe("left");
        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"member-{anna}")).ShouldBe(2);
    }

    [Fact]
    public async Task A_member_of_another_chapter_is_not_found_here()
    {
        var here = await new Scenario(api).WithChapterAsync();
        var there = await new Scenario(api).WithChapterAsync();
        var stranger = await there.AddMemberAsync("Stranger");

        await (await _http.GetAsync($"/api/chapters/{here.ChapterId}/members/{stranger}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await _http.PostAsync($"/api/chapters/{here.ChapterId}/members/{stranger}/leave", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}
