using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>
/// Mistakes set right as events, never edits: a referral corrected, withdrawn or passed to another member, a one-to-one taken
/// back; and money with no more decimals than its currency has.
/// </summary>
public sealed class SettingRightApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private async Task<(Scenario Scenario, Guid Anna, Guid Bram, Guid Chi)> ThreeMembersAsync()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        return (scenario, await scenario.AddMemberAsync("Anna Berg"), await scenario.AddMemberAsync("Bram de Vries"), await scenario.AddMemberAsync("Chi Nguyen"));
    }

    private static async Task<Guid> ClosedWonAsync(Scenario scenario, Guid giver, Guid receiver, decimal amount)
    {
        var id = await scenario.GiveAsync(giver, receiver);
        (await scenario.ActAsync(receiver, id, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ActAsync(receiver, id, "close", new { outcome = "won", value = new { amount, currency = "SEK" } })).StatusCode.ShouldBe(HttpStatusCode.OK);
        return id;
    }

    private async Task<JsonObject> GivingAsync(Scenario scenario, Guid member)
    {
        await api.WaitForProjectionsAsync();
        var response = await (await scenario.IntegrationAsync()).GetAsync($"/api/chapters/{scenario.ChapterId}/members/{member}/giving?weeks=12");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await response.ReadJsonAsync();
    }

    [Fact]
    public async Task Money_has_no_more_decimals_than_its_currency_and_nothing_is_stored_when_it_has()
    {
        var (scenario, anna, bram, _) = await ThreeMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        await scenario.ActAsync(bram, id, "accept", new { });

        var problem = await (await scenario.ActAsync(bram, id, "close", new { outcome = "won", value = new { amount = 100.005m, currency = "SEK" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "value.amount");
        problem["errors"]!["value.amount"]![0]!.GetValue<string>().ShouldContain("2 decimals");
        await (await scenario.ActAsync(bram, id, "close", new { outcome = "won", value = new { amount = 1500.5m, currency = "VND" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "value.amount");
        // Without a currency, the chapter's (SEK) is the one whose decimals count.
        await (await scenario.ActAsync(bram, id, "close", new { outcome = "won", value = new { amount = 0.001m } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "value.amount");
        (await scenario.ScalarEventsAsync(id, "referral.closed.v1")).ShouldBe(0);

        (await scenario.ActAsync(bram, id, "close", new { outcome = "won", value = new { amount = 1500000m, currency = "VND" } })).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_receiver_corrects_a_value_and_the_referral_and_the_figures_follow_with_the_reason_shown()
    {
        var (scenario, anna, bram, _) = await ThreeMembersAsync();
        var id = await ClosedWonAsync(scenario, anna, bram, 12000m);
        (await GivingAsync(scenario, anna))["closedWonValue"]!.AsArray().Single()!["amount"]!.GetValue<decimal>().ShouldBe(12000m);

        var corrected = await scenario.ActAsync(bram, id, "correct", new { value = new { amount = 1200m, currency = "SEK" }, reason = "One zero too many" });

        corrected.StatusCode.ShouldBe(HttpStatusCode.OK);
        var referral = await corrected.ReadJsonAsync();
        referral["outcome"]!.GetValue<string>().ShouldBe("won");
        referral["value"]!["amount"]!.GetValue<decimal>().ShouldBe(1200m);
        referral["status"]!.GetValue<string>().ShouldBe("closed");
        var correction = referral["corrections"]!.AsArray().Single()!;
        correction["reason"]!.GetValue<string>().ShouldBe("One zero too many");
        correction["correctedBy"]!.GetValue<Guid>().ShouldBe(bram);
        correction["value"]!["amount"]!.GetValue<decimal>().ShouldBe(1200m);
        (await GivingAsync(scenario, anna))["closedWonValue"]!.AsArray().Single()!["amount"]!.GetValue<decimal>().ShouldBe(1200m);

        // The same correction again (a retry) changes nothing; the feed carries the correction for integrations.
        (await scenario.ActAsync(bram, id, "correct", new { value = new { amount = 1200m, currency = "SEK" }, reason = "One zero too many" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ScalarEventsAsync(id, "referral.corrected.v1")).ShouldBe(1);
        var feed = await (await (await scenario.IntegrationAsync()).GetAsync($"/api/chapters/{scenario.ChapterId}/events")).ReadJsonAsync();
        feed["items"]!.AsArray().Count(e => e!["type"]!.GetValue<string>() == "referral.corrected.v1").ShouldBe(1);
    }

    [Fact]
    public async Task Won_corrected_to_lost_leaves_the_figures_and_a_leader_may_correct_too()
    {
        var (scenario, anna, bram, _) = await ThreeMembersAsync();
        var leader = await scenario.AddLeaderAsync("Lena Leader");
        var id = await ClosedWonAsync(scenario, anna, bram, 500m);

        var referral = await (await scenario.ActAsync(leader, id, "correct", new { outcome = "lost", reason = "The client signed elsewhere" })).ReadJsonAsync();

        referral["outcome"]!.GetValue<string>().ShouldBe("lost");
        referral["value"].ShouldBeNull();
        (await GivingAsync(scenario, anna))["closedWonValue"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task A_correction_is_refused_by_name_and_stores_nothing()
    {
        var (scenario, anna, bram, chi) = await ThreeMembersAsync();
        var id = await ClosedWonAsync(scenario, anna, bram, 500m);

        await (await scenario.ActAsync(bram, id, "correct", new { value = new { amount = 400m, currency = "SEK" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "reason");
        await (await scenario.ActAsync(bram, id, "correct", new { value = new { amount = 400.123m, currency = "SEK" }, reason = "x" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "value.amount");
        await (await scenario.ActAsync(bram, id, "correct", new { outcome = "maybe", reason = "x" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "outcome");
        await (await scenario.ActAsync(bram, id, "correct", new { reason = "Nothing to say" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "outcome");
        await (await scenario.ActAsync(bram, id, "correct", new { outcome = "lost", value = new { amount = 1m, currency = "SEK" }, reason = "x" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "value");
        // Not thanked yet: there is no note to correct.
        await (await scenario.ActAsync(bram, id, "correct", new { thankNote = "Thanks", reason = "x" })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        // The giver reads it; only the receiver or a leader writes it.
        await (await scenario.ActAsync(anna, id, "correct", new { value = new { amount = 1m, currency = "SEK" }, reason = "x" }))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.ActAsync(chi, id, "correct", new { value = new { amount = 1m, currency = "SEK" }, reason = "x" }))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.ActAsync(bram, Guid.NewGuid(), "correct", new { value = new { amount = 1m, currency = "SEK" }, reason = "x" }))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await scenario.ScalarEventsAsync(id, "referral.corrected.v1")).ShouldBe(0);
    }

    [Fact]
    public async Task A_thank_you_note_is_corrected()
    {
        var (scenario, anna, bram, _) = await ThreeMembersAsync();
        var id = await ClosedWonAsync(scenario, anna, bram, 500m);
        await scenario.ActAsync(bram, id, "thank", new { note = "Signed a one-year deal" });

        var referral = await (await scenario.ActAsync(bram, id, "correct", new { thankNote = "Signed a two-year deal", reason = "It was two years" })).ReadJsonAsync();

        referral["thankNote"]!.GetValue<string>().ShouldBe("Signed a two-year deal");
        referral["status"]!.GetValue<string>().ShouldBe("thanked");
        referral["corrections"]!.AsArray().Single()!["thankNote"]!.GetValue<string>().ShouldBe("Signed a two-year deal");
    }

    [Fact]
    public async Task The_giver_withdraws_a_referral_not_yet_accepted_and_it_leaves_the_figures()
    {
        var (scenario, anna, bram, chi) = await ThreeMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        (await GivingAsync(scenario, anna))["given"]!.GetValue<int>().ShouldBe(1);

        await (await scenario.ActAsync(bram, id, "withdraw", new { })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.ActAsync(chi, id, "withdraw", new { })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        var withdrawn = await scenario.ActAsync(anna, id, "withdraw", new { reason = "Meant for another Bram" });

        withdrawn.StatusCode.ShouldBe(HttpStatusCode.OK);
        var referral = await withdrawn.ReadJsonAsync();
        referral["status"]!.GetValue<string>().ShouldBe("withdrawn");
        referral["withdrawReason"]!.GetValue<string>().ShouldBe("Meant for another Bram");
        referral["withdrawnAt"].ShouldNotBeNull();
        (await scenario.ActAsync(anna, id, "withdraw", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ScalarEventsAsync(id, "referral.withdrawn.v1")).ShouldBe(1);
        await (await scenario.ActAsync(bram, id, "accept", new { })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await GivingAsync(scenario, anna))["given"]!.GetValue<int>().ShouldBe(0);

        var accepted = await scenario.GiveAsync(anna, bram);
        await scenario.ActAsync(bram, accepted, "accept", new { });
        await (await scenario.ActAsync(anna, accepted, "withdraw", new { })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task The_giver_passes_a_referral_to_another_member_who_then_takes_the_steps()
    {
        var (scenario, anna, bram, chi) = await ThreeMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);

        await (await scenario.ActAsync(anna, id, "redirect", new { })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "receiverId");
        await (await scenario.ActAsync(anna, id, "redirect", new { receiverId = Guid.NewGuid() })).ShouldBeProblemNamingAsync(HttpStatusCode.NotFound, "receiverId");
        await (await scenario.ActAsync(anna, id, "redirect", new { receiverId = anna })).ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "receiverId");
        await (await scenario.ActAsync(bram, id, "redirect", new { receiverId = chi })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        var redirected = await scenario.ActAsync(anna, id, "redirect", new { receiverId = chi });

        redirected.StatusCode.ShouldBe(HttpStatusCode.OK);
        var referral = await redirected.ReadJsonAsync();
        referral["receiverId"]!.GetValue<Guid>().ShouldBe(chi);
        referral["redirectedAt"].ShouldNotBeNull();
        // The prospect goes with it: the new receiver sees them, the first no longer does.
        (await (await scenario.As(chi).GetAsync($"{scenario.Referrals}/{id}")).ReadJsonAsync())["prospect"]!["name"]!.GetValue<string>().ShouldBe("Sara Lind");
        await (await scenario.ActAsync(bram, id, "accept", new { })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await scenario.ActAsync(chi, id, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await GivingAsync(scenario, chi))["received"]!.GetValue<int>().ShouldBe(1);
        (await GivingAsync(scenario, bram))["received"]!.GetValue<int>().ShouldBe(0);
        await (await scenario.ActAsync(anna, id, "redirect", new { receiverId = bram })).ShouldBeProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_one_to_one_recorded_by_mistake_is_taken_back_and_no_longer_counts()
    {
        var (scenario, anna, bram, chi) = await ThreeMembersAsync();
        var c = $"/api/chapters/{scenario.ChapterId}";
        var recorded = await scenario.As(anna).PostAsJsonAsync($"{c}/one-to-ones",
            new { memberA = anna, memberB = bram, date = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(-1)) });
        var id = (await recorded.ReadJsonAsync())["id"]!.GetValue<Guid>();
        await api.WaitForProjectionsAsync();
        (await (await scenario.As(anna).GetAsync($"{c}/members/{anna}/relationships")).ReadJsonAsync())["items"]!.AsArray().Count.ShouldBe(1);

        await (await scenario.As(chi).DeleteAsync($"{c}/one-to-ones/{id}")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        (await scenario.As(bram).DeleteAsync($"{c}/one-to-ones/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await scenario.As(anna).DeleteAsync($"{c}/one-to-ones/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await scenario.As(anna).DeleteAsync($"{c}/one-to-ones/{Guid.NewGuid()}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);

        (await api.ScalarAsync("SELECT count(*) FROM mt_events WHERE stream_id = $1 AND type = 'one-to-one.withdrawn.v1'", $"one-to-one-{id}")).ShouldBe(1);
        (await (await scenario.As(anna).GetAsync($"{c}/one-to-ones")).ReadJsonAsync())["items"]!.AsArray().ShouldBeEmpty();
        await api.WaitForProjectionsAsync();
        (await (await scenario.As(anna).GetAsync($"{c}/members/{anna}/relationships")).ReadJsonAsync())["items"]!.AsArray().ShouldBeEmpty();
    }
}
