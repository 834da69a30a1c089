using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Chapter.Api.Tests;

/// <summary>What each kind of bad input gets: a 4xx problem naming the field by its JSON path, before anything is stored.</summary>
public sealed class InputRefusalApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("""{"name":"A\u0000B","profession":"Baker","languages":["sv"]}""", "name", "U+0000")]
    [InlineData("""{"name":"Anna","profession":"Bak\u001ber","languages":["sv"]}""", "profession", "U+001B")]
    [InlineData("""{"name":"\ud800","profession":"Baker","languages":["sv"]}""", "name", "Unicode")]
    [InlineData("""{"name":"Two\nlines","profession":"Baker","languages":["sv"]}""", "name", "one line")]
    [InlineData("""{"name":"Anna","profession":"Baker","languages":["s\u0007v"]}""", "languages[0]", "U+0007")]
    [InlineData("""{"name":"Anna","name":"Bram","profession":"Baker","languages":["sv"]}""", "name", "")]
    public async Task A_member_whose_text_cannot_be_stored_or_read_is_refused_naming_the_field(string body, string field, string says)
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var before = await api.ScalarAsync("SELECT count(*) FROM mt_events");
        var problem = await (await scenario.Operator.PostAsync($"/api/chapters/{scenario.ChapterId}/members", Json(body)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, field);
        problem["errors"]![field]![0]!.GetValue<string>().ShouldContain(says);
        (await api.ScalarAsync("SELECT count(*) FROM mt_events")).ShouldBe(before);
    }

    [Fact]
    public async Task A_note_may_hold_line_breaks_and_tabs()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var referral = await scenario.GiveAsync(anna, bram);
        (await scenario.ActAsync(bram, referral, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ActAsync(bram, referral, "thank", new { note = "We met.\n\tSigned on Friday." })).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("""{"outcome":"won","value":{"amount":1e400,"currency":"SEK"}}""", "value.amount")]
    [InlineData("""{"outcome":"won","value":{"amount":true,"currency":"SEK"}}""", "value.amount")]
    [InlineData("""{"outcome":"won","value":{"amount":12,"currency":"SEK"}""", "body")]
    public async Task Numbers_out_of_range_wrong_types_and_broken_json_are_refused(string body, string field)
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var referral = await scenario.GiveAsync(anna, bram);
        await (await scenario.As(bram).PostAsync($"{scenario.Referrals}/{referral}/close", Json(body)))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Deep_nesting_a_wrong_content_type_and_a_body_on_a_get_are_refused_with_problems()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var members = $"/api/chapters/{scenario.ChapterId}/members";
        await (await scenario.Operator.PostAsync(members, Json(new string('[', 5000) + new string(']', 5000))))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        await (await scenario.Operator.PostAsync(members, new StringContent("""{"name":"Anna"}""", Encoding.UTF8, "text/plain")))
            .ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType);
        using var get = new HttpRequestMessage(HttpMethod.Get, members) { Content = Json("""{"limit":5}""") };
        (await (await scenario.Operator.SendAsync(get)).ShouldBeProblemAsync(HttpStatusCode.BadRequest))["detail"]!.GetValue<string>()
            .ShouldContain("no body");
    }

    [Theory]
    [InlineData("reports/weekly/2026-W99", "isoWeek")]
    [InlineData("reports/weekly/2026-W00", "isoWeek")]
    [InlineData("reciprocity?weeks=abc", "weeks")]
    [InlineData("reciprocity?weeks=99999999999999999999", "weeks")]
    [InlineData("events?after=abc", "after")]
    [InlineData("events?limit=-1", "limit")]
    [InlineData("referrals?status=lost-and-found", "status")]
    public async Task Query_parameters_and_path_segments_out_of_range_name_themselves(string path, string field)
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        await (await leader.GetAsync($"/api/chapters/{scenario.ChapterId}/{path}")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, field);
    }
}
