using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Chapter.Api.Tests;

public sealed class WeeklyReportApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{

    private static string ThisWeek()
    {
        var today = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm")).DateTime;
        return $"{ISOWeek.GetYear(today)}-W{ISOWeek.GetWeekOfYear(today):00}";
    }

    [Fact]
    public async Task The_weekly_report_counts_the_weeks_referrals_in_json_and_in_csv()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var a = await scenario.AddMemberAsync("Anna");
        var b = await scenario.AddMemberAsync("Bram, \"the realtor\"");
        await scenario.AddMemberAsync("Chi");
        var referral = await scenario.GiveAsync(a, b);
        await scenario.ActAsync(b, referral, "accept", new { memberId = b });
        await scenario.ActAsync(b, referral, "close", new { memberId = b, outcome = "won", value = new { amount = 1500m, currency = "SEK" } });
        await scenario.GiveAsync(b, a);
        await api.WaitForProjectionsAsync();
        var path = $"/api/chapters/{scenario.ChapterId}/reports/weekly/{ThisWeek()}";

        var reader = await scenario.IntegrationAsync();
        var response = await reader.GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var report = await response.ReadJsonAsync();

        report["week"]!.GetValue<string>().ShouldBe(ThisWeek());
        report["counts"]!["given"]!.GetValue<int>().ShouldBe(2);
        report["counts"]!["closedWon"]!.GetValue<int>().ShouldBe(1);
        report["counts"]!["newTies"]!.GetValue<int>().ShouldBe(1);
        report["closedValue"]!.AsArray().Single()!["amount"]!.GetValue<decimal>().ShouldBe(1500m);
        report["circulation"]!["twelveWeeks"]!["circulation"]!.GetValue<double>().ShouldBe(Math.Round(2 / 3.0, 4));
        report["nudges"]!["notReferredLately"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()).ShouldBe(["Chi"]);
        report["asOf"]!["position"]!.GetValue<long>().ShouldBeGreaterThan(0);

        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var csvResponse = await reader.SendAsync(request);
        csvResponse.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var csv = await csvResponse.Content.ReadAsStringAsync();
        csv.ShouldStartWith("section,item,value\r\n");
        csv.ShouldContain("counts,given,2\r\n");
        csv.ShouldContain("closedValue,SEK,1500\r\n");
        csv.ShouldContain("circulation.twelveWeeks,circulation,0.6667\r\n");
        csv.ShouldContain("Invite Chi to a one-to-one");
    }

    [Fact]
    public async Task A_week_that_is_no_iso_week_is_refused_and_an_unknown_chapter_is_not_found()
    {
        var scenario = await new Scenario(api).WithChapterAsync();
        var reader = await scenario.IntegrationAsync();
        await (await reader.GetAsync($"/api/chapters/{scenario.ChapterId}/reports/weekly/2026-W54")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "isoWeek");
        await (await reader.GetAsync($"/api/chapters/{scenario.ChapterId}/reports/weekly/this-week")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "isoWeek");
        await (await reader.GetAsync("/api/chapters/nowhere/reports/weekly/2026-W47")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }
}
