using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Chapter.Api.Tests;

/// <summary>Every way a referral can be refused: the answer names the field, and nothing is stored.</summary>
public sealed class ReferralRulesApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _http = api.CreateClient();

    private async Task<(Scenario Scenario, Guid Anna, Guid Bram)> TwoMembersAsync()
    {
        var scenario = await new Scenario(_http).WithChapterAsync();
        return (scenario, await scenario.AddMemberAsync("Anna Berg"), await scenario.AddMemberAsync("Bram de Vries"));
    }

    private async Task ShouldHaveNoReferralsAsync(Scenario scenario) =>
        (await api.ScalarAsync("SELECT count(*) FROM events e JOIN streams s ON s.id = e.stream_id WHERE s.type = 'referral' AND e.tenant_id = $1",
            scenario.ChapterId)).ShouldBe(0);

    [Fact]
    public async Task A_prospect_is_never_passed_on_without_consent()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();

        var response = await _http.PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram, consent: false));

        var problem = await response.ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "prospect.consent");
        problem["detail"]!.GetValue<string>().ShouldContain("agree to be contacted");
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Fact]
    public async Task A_member_cannot_refer_to_themselves()
    {
        var (scenario, anna, _) = await TwoMembersAsync();
        await (await _http.PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, anna)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "receiverId");
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Fact]
    public async Task A_member_who_left_can_no_longer_receive()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        await _http.PostAsync($"/api/chapters/{scenario.ChapterId}/members/{bram}/leave", null);

        await (await _http.PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "receiverId");
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Fact]
    public async Task Giver_and_receiver_must_be_members_of_this_chapter()
    {
        var (scenario, anna, _) = await TwoMembersAsync();
        var elsewhere = await new Scenario(_http).WithChapterAsync();
        var stranger = await elsewhere.AddMemberAsync("Stranger");

        await (await _http.PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, stranger)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.NotFound, "receiverId");
        await (await _http.PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(Guid.NewGuid(), anna)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.NotFound, "giverId");
        await (await _http.PostAsJsonAsync("/api/chapters/no-such-chapter/referrals", scenario.ReferralBody(anna, stranger)))
            .ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await ShouldHaveNoReferralsAsync(scenario);
    }

    [Fact]
    public async Task Missing_fields_are_each_named()
    {
        var (scenario, _, _) = await TwoMembersAsync();
        await (await _http.PostAsJsonAsync(scenario.Referrals, new { }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "giverId", "receiverId", "prospect", "need", "temperature", "language");
        await (await _http.PostAsJsonAsync(scenario.Referrals, new { prospect = new { } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "prospect.name", "prospect.consent");
    }

    [Fact]
    public async Task Bad_values_are_each_named()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var response = await _http.PostAsJsonAsync(scenario.Referrals, new
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
        var (scenario, _, _) = await TwoMembersAsync();
        var response = await _http.PostAsync(scenario.Referrals, new StringContent(json, Encoding.UTF8, "application/json"));
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
        await scenario.ActAsync(id, "accept", new { memberId = bram });

        await (await scenario.ActAsync(id, "close", new { memberId = bram, outcome = "won" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "value");
        await (await scenario.ActAsync(id, "close", new { memberId = bram, outcome = "lost", value = new { amount = 10m, currency = "SEK" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "value");
        await (await scenario.ActAsync(id, "close", new { memberId = bram, outcome = "won", value = new { amount = -1m, currency = "SEK" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "value.amount");
        await (await scenario.ActAsync(id, "close", new { memberId = bram, outcome = "won", value = new { amount = 10m, currency = "ABC" } }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "value.currency");
        await (await scenario.ActAsync(id, "close", new { memberId = bram, outcome = "maybe" }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "outcome");

        var view = await (await _http.GetAsync($"{scenario.Referrals}/{id}")).ReadJsonAsync();
        view["status"]!.GetValue<string>().ShouldBe("accepted");
        view["version"]!.GetValue<long>().ShouldBe(2);
    }

    [Fact]
    public async Task Steps_need_the_acting_member_and_their_text()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);

        await (await scenario.ActAsync(id, "accept", new { })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "memberId");
        await (await scenario.ActAsync(id, "decline", new { memberId = bram, reason = "" })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "reason");
        await scenario.ActAsync(id, "accept", new { memberId = bram });
        await (await scenario.ActAsync(id, "thank", new { memberId = bram, note = new string('n', 2001) })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "note");
    }

    [Fact]
    public async Task An_unknown_referral_or_one_of_another_chapter_is_not_found()
    {
        var (scenario, anna, bram) = await TwoMembersAsync();
        var id = await scenario.GiveAsync(anna, bram);
        var elsewhere = await new Scenario(_http).WithChapterAsync();

        await (await _http.GetAsync($"{scenario.Referrals}/{Guid.NewGuid()}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await scenario.ActAsync(Guid.NewGuid(), "accept", new { memberId = bram })).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await _http.GetAsync($"{elsewhere.Referrals}/{id}")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await (await elsewhere.ActAsync(id, "accept", new { memberId = bram })).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}
