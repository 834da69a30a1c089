using System.Net;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

/// <summary>How leaders hand out access, and how it ends.</summary>
public sealed class TokenLifecycleApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_leader_issues_a_sign_in_link_that_works_at_once_and_is_stored_only_as_a_hash()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var members = $"/api/chapters/{scenario.ChapterId}/members";
        var bram = (await (await leader.PostAsJsonAsync(members, new { name = "Bram", profession = "Realtor", languages = new[] { "nl" } })).ReadJsonAsync())["id"]!.GetValue<Guid>();

        var issued = await leader.PostAsJsonAsync($"{members}/{bram}/tokens", new { label = "Bram's phone" });

        issued.StatusCode.ShouldBe(HttpStatusCode.Created);
        issued.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var body = await issued.ReadJsonAsync();
        var token = body["token"]!.GetValue<string>();
        token.ShouldStartWith("chapter_");
        token.Length.ShouldBeGreaterThanOrEqualTo("chapter_".Length + 43); // 256 bits, base64url
        // The token travels in the fragment, which browsers never send to a server.
        body["signInUrl"]!.GetValue<string>().ShouldEndWith($"/signin#token={token}");

        var me = await (await api.ClientWith(token).GetAsync("/api/me")).ReadJsonAsync();
        me["memberId"]!.GetValue<Guid>().ShouldBe(bram);
        me["role"]!.GetValue<string>().ShouldBe("member");
        me["name"]!.GetValue<string>().ShouldBe("Bram");

        (await api.ScalarAsync("SELECT count(*) FROM access_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))", token)).ShouldBe(1);
        (await api.ScalarAsync("SELECT count(*) FROM access_tokens t WHERE t::text LIKE '%' || $1 || '%'", token[8..])).ShouldBe(0);
        var listed = await (await leader.GetAsync($"{members}/{bram}/tokens")).ReadJsonAsync();
        var entry = listed["items"]!.AsArray().Single(t => t!["label"]!.GetValue<string>() == "Bram's phone")!;
        entry["lastUsedAt"].ShouldNotBeNull();
        entry["createdBy"]!.GetValue<string>().ShouldStartWith("leader:");
        listed.ToJsonString().ShouldNotContain(token);
    }

    [Fact]
    public async Task A_revoked_token_and_the_token_of_a_member_who_left_stop_working_at_once()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var members = $"/api/chapters/{scenario.ChapterId}/members";
        var second = await (await scenario.Operator.PostAsJsonAsync($"{members}/{anna}/tokens", new { label = "laptop" })).ReadJsonAsync();
        var laptop = api.ClientWith(second["token"]!.GetValue<string>());
        (await laptop.GetAsync("/api/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await scenario.Operator.DeleteAsync($"{members}/{anna}/tokens/{second["id"]}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var refused = await laptop.GetAsync("/api/me");
        (await refused.ShouldBeProblemAsync(HttpStatusCode.Unauthorized))["detail"]!.GetValue<string>().ShouldContain("revoked");
        (await scenario.As(anna).GetAsync("/api/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.Operator.DeleteAsync($"{members}/{bram}/tokens/{second["id"]}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);

        (await scenario.Operator.PostAsync($"{members}/{bram}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.As(bram).GetAsync("/api/me")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        await (await scenario.Operator.PostAsJsonAsync($"{members}/{bram}/tokens", new { })).ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "memberId");
    }

    [Fact]
    public async Task A_role_changed_by_a_leader_counts_at_once_for_the_members_token()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var anna = await scenario.AddMemberAsync("Anna");
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var report = $"/api/chapters/{scenario.ChapterId}/reports/weekly/2026-W47";
        await (await scenario.As(anna).GetAsync(report)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);

        var changed = await leader.PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{anna}",
            new { name = "Anna Berg", profession = "Accountant", languages = new[] { "sv" }, role = "leader" });

        changed.StatusCode.ShouldBe(HttpStatusCode.OK);
        var view = await changed.ReadJsonAsync();
        (view["name"]!.GetValue<string>(), view["role"]!.GetValue<string>()).ShouldBe(("Anna Berg", "leader"));
        (await scenario.As(anna).GetAsync(report)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await leader.PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{anna}",
            new { name = "Anna Berg", profession = "Accountant", languages = new[] { "sv" }, role = "leader" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1", $"member-{anna}")).ShouldBe(2);
        await (await leader.PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{anna}", new { name = "", languages = Array.Empty<string>() }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "name", "profession", "languages");
    }

    [Fact]
    public async Task An_integration_key_reads_the_chapter_and_changes_nothing()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        await (await scenario.Operator.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/integrations", new { }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "label");
        var integration = await scenario.IntegrationAsync();

        (await integration.GetAsync($"/api/chapters/{scenario.ChapterId}/members")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await integration.PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram))).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await integration.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members", new { name = "X", profession = "Y", languages = new[] { "sv" } }))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Malformed_and_unknown_tokens_are_401_saying_why()
    {
        var client = api.ClientWith(null);
        var basic = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        basic.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "YW5uYTpzZWNyZXQ=");
        (await (await client.SendAsync(basic)).ShouldBeProblemAsync(HttpStatusCode.Unauthorized))["detail"]!.GetValue<string>().ShouldContain("Bearer");
        (await (await api.ClientWith("chapter_made-up").GetAsync("/api/me")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized))["detail"]!
            .GetValue<string>().ShouldContain("unknown");
        (await (await client.GetAsync("/api/me")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized))["detail"]!.GetValue<string>().ShouldContain("Authorization");
    }
}
