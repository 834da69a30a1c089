using System.Net;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

/// <summary>Visitors, with their consent, followed up step by step, and erasable for good.</summary>
public sealed class VisitorApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task A_member_registers_a_visitor_with_consent_follows_them_up_until_they_join_and_the_details_can_be_erased()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var visitors = $"/api/chapters/{scenario.ChapterId}/visitors";

        await (await scenario.As(anna).PostAsJsonAsync(visitors, new { name = "Freja Lund", profession = "Florist", email = "freja@example.se", consent = false }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "consent");
        var nameOnly = await scenario.As(anna).PostAsJsonAsync(visitors, new { name = "Gustav Ek", profession = "Plumber", consent = false });
        nameOnly.StatusCode.ShouldBe(HttpStatusCode.Created, "the name alone may be kept for the meeting's record");
        var created = await scenario.As(anna).PostAsJsonAsync(visitors,
            new { name = "Freja Lund", profession = "Florist", company = "Lund Blommor", email = "freja@example.se", phone = "+46 70 111 22 33", consent = true });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var visitor = await created.ReadJsonAsync();
        var id = visitor["id"]!.GetValue<Guid>();
        visitor["email"]!.GetValue<string>().ShouldBe("freja@example.se");
        visitor["invitedBy"]!.GetValue<Guid>().ShouldBe(anna);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE data::text LIKE '%Freja%' OR data::text LIKE '%freja@%'")).ShouldBe(0);

        // Leaders and the inviting member see the visitor; another member does not.
        (await leader.GetAsync($"{visitors}/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.As(bram).GetAsync($"{visitors}/{id}")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await (await scenario.As(bram).GetAsync(visitors)).ReadJsonAsync())["items"]!.AsArray().ShouldBeEmpty();
        (await (await leader.GetAsync(visitors)).ReadJsonAsync())["items"]!.AsArray().Count.ShouldBe(2);

        (await scenario.As(anna).PostAsJsonAsync($"{visitors}/{id}/follow-up", new { step = "thanked", note = "Sent flowers back" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await leader.PostAsJsonAsync($"{visitors}/{id}/follow-up", new { step = "joined" })).ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "memberId");
        await (await leader.PostAsJsonAsync($"{visitors}/{id}/follow-up", new { step = "waved" })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "step");
        var freja = await scenario.AddMemberAsync("Freja Lund", "Florist");
        var joined = await (await leader.PostAsJsonAsync($"{visitors}/{id}/follow-up", new { step = "joined", memberId = freja })).ReadJsonAsync();
        joined["memberId"]!.GetValue<Guid>().ShouldBe(freja);
        joined["followUp"]!.AsArray().Select(s => s!["step"]!.GetValue<string>()).ShouldBe(["thanked", "joined"]);
        await (await scenario.As(bram).PostAsJsonAsync($"{visitors}/{id}/follow-up", new { step = "thanked" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);

        await (await scenario.As(bram).DeleteAsync($"{visitors}/{id}/personal-data")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await scenario.As(anna).DeleteAsync($"{visitors}/{id}/personal-data")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var erased = await (await leader.GetAsync($"{visitors}/{id}")).ReadJsonAsync();
        erased["name"]!.GetValue<string>().ShouldBe("erased");
        erased["email"].ShouldBeNull();
        erased["erased"]!.GetValue<bool>().ShouldBeTrue();
        erased["profession"]!.GetValue<string>().ShouldBe("Florist");
        await api.WaitForProjectionsAsync();
        (await (await leader.GetAsync($"/api/chapters/{scenario.ChapterId}/events?limit=1000")).Content.ReadAsStringAsync()).ShouldNotContain("sealedDetails");
        api.Logs.Lines.Where(l => l.Contains("freja@") || l.Contains("111 22 33") || l.Contains("Lund Blommor")).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_visitor_is_registered_by_its_inviter_for_a_meeting_of_the_chapter_and_the_follow_up_reads_as_it_is_written()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var lea = await scenario.AddLeaderAsync("Lea");
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var visitors = $"/api/chapters/{scenario.ChapterId}/visitors";
        var elsewhere = await new Scenario(api).WithChapterAsync();
        var foreignMeeting = (await (await elsewhere.Operator.PostAsJsonAsync($"/api/chapters/{elsewhere.ChapterId}/meetings",
            new { date = DateOnly.FromDateTime(DateTime.UtcNow) })).ReadJsonAsync())["id"]!.GetValue<Guid>();

        await (await scenario.As(anna).PostAsJsonAsync(visitors, new { name = "Olle", profession = "Plumber", meetingId = Guid.NewGuid() }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "meetingId");
        await (await scenario.As(anna).PostAsJsonAsync(visitors, new { name = "Olle", profession = "Plumber", meetingId = foreignMeeting }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "meetingId");
        // A member registers the visitors they invited, so they can see and follow them up; a leader may name another inviter.
        await (await scenario.As(anna).PostAsJsonAsync(visitors, new { name = "Olle", profession = "Plumber", invitedBy = bram }))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE tenant_id = $1 AND type LIKE 'visitor.%'", scenario.ChapterId)).ShouldBe(0);
        var byLeader = await (await scenario.As(lea).PostAsJsonAsync(visitors, new { name = "Olle", profession = "Plumber", invitedBy = bram })).ReadJsonAsync();
        byLeader["invitedBy"]!.GetValue<Guid>().ShouldBe(bram);
        var id = byLeader["id"]!.GetValue<Guid>();

        var followed = await (await scenario.As(bram).PostAsJsonAsync($"{visitors}/{id}/follow-up", new { step = "notInterested" })).ReadJsonAsync();
        followed["followUp"]!.AsArray().Single()!["step"]!.GetValue<string>().ShouldBe("notInterested");
        (await scenario.As(bram).PostAsJsonAsync($"{visitors}/{id}/follow-up", new { step = "not-interested" })).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_weekly_report_lists_the_weeks_visitors_by_name_for_leaders_and_without_a_name_or_contact_for_integrations()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lea"));
        var anna = await scenario.AddMemberAsync("Anna");
        (await scenario.As(anna).PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/visitors",
            new { name = "Hedda Sjö", profession = "Architect", email = "hedda@example.se", consent = true })).StatusCode.ShouldBe(HttpStatusCode.Created);
        await api.WaitForProjectionsAsync();
        var today = DateTime.UtcNow;
        var week = $"{System.Globalization.ISOWeek.GetYear(today)}-W{System.Globalization.ISOWeek.GetWeekOfYear(today):00}";
        var report = $"/api/chapters/{scenario.ChapterId}/reports/weekly/{week}";

        var forLeader = await (await leader.GetAsync(report)).ReadJsonAsync();
        var visitor = forLeader["visitors"]!["thisWeek"]!.AsArray().ShouldHaveSingleItem()!;
        visitor["name"]!.GetValue<string>().ShouldBe("Hedda Sjö");
        visitor["invitedByName"]!.GetValue<string>().ShouldBe("Anna");

        var forIntegration = await (await (await scenario.IntegrationAsync()).GetAsync(report)).Content.ReadAsStringAsync();
        forIntegration.ShouldContain("Architect");
        forIntegration.ShouldNotContain("Hedda");
        forIntegration.ShouldNotContain("hedda@example.se");
        (await (await leader.GetAsync(report)).Content.ReadAsStringAsync()).ShouldNotContain("hedda@example.se");
    }
}
