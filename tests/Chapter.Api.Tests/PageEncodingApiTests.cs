using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Chapter.Api.Tests;

/// <summary>Pages carry their languages as UTF-8 text, not as numeric entities, and still escape markup.</summary>
public sealed class PageEncodingApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task The_vietnamese_give_page_reads_as_vietnamese_in_its_source()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/give");
        request.Headers.AcceptLanguage.Add(new StringWithQualityHeaderValue("vi"));
        var response = await api.CreateClient().SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.CharSet.ShouldBe("utf-8");
        var html = await response.Content.ReadAsStringAsync();
        html.ShouldContain("Trao một lời giới thiệu");
        html.ShouldNotContain("&#x1ED9;");
    }

    [Fact]
    public async Task Markup_in_a_members_name_is_escaped_on_the_report_page_while_its_letters_stay_as_they_are()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var leader = scenario.As(await scenario.AddLeaderAsync("Lena"));
        var created = await scenario.Operator.PostAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members",
            new { name = "<script>alert('Đào')</script>", profession = "Baker", languages = new[] { "vi" } });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var attacker = (await created.ReadJsonAsync())["id"]!.GetValue<Guid>();
        var anna = await scenario.AddMemberAsync("Anna Đặng");
        var asAttacker = api.ClientWith(await scenario.IssueTokenAsync(scenario.ChapterId, attacker));
        // The report draws the members who gave or received this week.
        (await asAttacker.PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(attacker, anna))).StatusCode.ShouldBe(HttpStatusCode.Created);
        await api.WaitForProjectionsAsync();

        var now = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm")).DateTime;
        var week = $"{System.Globalization.ISOWeek.GetYear(now)}-W{System.Globalization.ISOWeek.GetWeekOfYear(now):00}";
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chapters/{scenario.ChapterId}/reports/weekly/{week}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        var html = await (await leader.SendAsync(request)).Content.ReadAsStringAsync();
        html.ShouldContain("Anna Đặng");
        html.ShouldContain("&lt;script&gt;alert(&#x27;Đào&#x27;)&lt;/script&gt;");
        html.ShouldNotContain("<script>alert");
    }
}
