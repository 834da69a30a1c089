using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Chapter.Api.Tests;

/// <summary>Every way a referral can be refused: the answer names the field, and nothing is stored.</summary>
public sealed class ReferralRulesApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private async Task<(Scenario Scenario, Guid Anna, Guid Bram)> TwoMembersAsync()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        return (scenario, await scenario.AddMemberAsync("Anna Berg"), await scenario.AddMemberAsync("Bram de Vries"));
    }

    private async Task ShouldHaveNoReferralsAsync(Scenario scenario) =>
        (await api.ScalarAsync("SELECT count(*) FROM mt_events e WHERE e.stream_id LIKE 'referral-%' AND e.tenant_id = $1",
            scenario.ChapterId)).ShouldBe(0);

    [Fact]
    public async Task A_prospect_is_never_passed_on_without_consent()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();

        var response = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram, consent: false));

        var problem = await response.ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "prospect.consent");
        problem["detail"]!.GetValue<string>().ShouldContain("agree to be contacted");
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Fact]
    public async Task A_member_cannot_refer_to_themselves()
    {
        var (scenario, anna, _) = await TwoMembersAsync();
        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, anna)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "receiverId");
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Fact]
    public async Task A_member_who_left_can_no_longer_receive()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        await scenario.Operator.PostAsync($"/api/chapters/{scenario.ChapterId}/members/{bram}/leave", null);

        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "receiverId");
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Fact]
    public async Task Giver_and_receiver_must_be_members_of_this_chapter()
    {
        var (scenario, anna, _) = await TwoMembersAsync();
        var elsewhere = await new Scenario(api).WithChapterAsync();
        var stranger = await elsewhere.AddMemberAsync("Stranger");

        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, stranger)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.NotFound, "receiverId");
        await (await scenario.As(anna).PostAsJsonAsync("/api/chapters/no-such-chapter/referrals", scenario.ReferralBody(anna, stranger)))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Fact]
    public async Task Missing_fields_are_each_named()
    {
        var (scenario, anna, _) = await TwoMembersAsync();
        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, new { }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "receiverId", "prospect", "need", "temperature", "language");
        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, new { prospect = new { } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "prospect.name", "prospect.consent");
    }

    [Fact]
    public async Task Bad_values_are_each_named()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var response = await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, new
        {
            giverId = anna,
            receiverId = bram,
            prospect = new { name = new string('n', 201), email = "not-an-address", consent = true },
            need = " ",
            temperature = "lukewarm",
            language = "Swedish",
        });
        await response.ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "prospect.name", "prospect.email", "need", "temperature", "language");
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Theory]
    [InlineData("""{"giverId": "not-a-uuid"}""", "giverId")]
    [InlineData("""{"prospect": {"name": "Sara", "consent": "yes"}}""", "prospect.consent")]
    [InlineData("""{"prospect": {"name": 42}}""", "prospect.name")]
    [InlineData("""{"need": "x", """, "body")]
    [InlineData("""not json at all""", "body")]
    public async Task Malformed_json_and_wrong_types_are_refused_naming_the_field(string json, string field)
    {
        var (scenario, anna, _) = await TwoMembersAsync();
        var response = await scenario.As(anna).PostAsync(scenario.Referrals, new StringContent(json, Encoding.UTF8, "application/json"));
        if (field == "body")
            await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        else
            await response.ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Closing_checks_the_value()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        await scenario.ActAsync(bram, id, "accept", new { memberId = bram });

        await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "won" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "value");
        await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "lost", value = new { amount = 10m, currency = "SEK" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "value");
        await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "won", value = new { amount = -1m, currency = "SEK" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "value.amount");
        await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "won", value = new { amount = 10m, currency = "ABC" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "value.currency");
        await (await scenario.ActAsync(bram, id, "close", new { memberId = bram, outcome = "maybe" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "outcome");

        var view = await (await scenario.As(anna).GetAsync($"{scenario.Referrals}/{id}")).ReadJsonAsync();
        view["status"]!.GetValue<string>().ShouldBe("accepted");
        view["version"]!.GetValue<long>().ShouldBe(2);
    }

    [Fact]
    public async Task Members_act_as_themselves_and_steps_need_their_text()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);

        // Naming someone else, giver or receiver, is refused whoever it names.
        await (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(bram, anna)))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.ActAsync(bram, id, "accept", new { memberId = anna })).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.ActAsync(bram, id, "decline", new { memberId = bram, reason = "" })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "reason");
        // The signed-in member is the actor: the body need not say who.
        (await scenario.As(bram).PostAsync($"{scenario.Referrals}/{id}/accept", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.ActAsync(bram, id, "thank", new { note = new string('n', 2001) })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "note");
    }

    [Fact]
    public async Task An_unknown_referral_or_one_of_another_chapter_is_not_found()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        var elsewhere = await new Scenario(api).WithChapterAsync();

        await (await scenario.As(anna).GetAsync($"{scenario.Referrals}/{Guid.NewGuid()}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await scenario.ActAsync(bram, Guid.NewGuid(), "accept", new { memberId = bram })).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await scenario.As(anna).GetAsync($"{elsewhere.Referrals}/{id}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await scenario.As(bram).PostAsJsonAsync($"{elsewhere.Referrals}/{id}/accept", new { })).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}
