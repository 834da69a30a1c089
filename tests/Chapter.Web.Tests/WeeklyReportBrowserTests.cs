using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Chapter.Web.Tests;

/// <summary>A leader opens the weekly report on a laptop and sees how help moved through the chapter.</summary>
public sealed class WeeklyReportBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static string ThisWeekInStockholm()
    {
        var today = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm")).DateTime;
        return $"{ISOWeek.GetYear(today)}-W{ISOWeek.GetWeekOfYear(today):00}";
    }

    private static async Task<BrowserChapter> ChapterWithAWeekOfHelpAsync(BrowserFixture browser)
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var won = await chapter.GiveAsync("A new office lease", chapter.Anna, chapter.Bram);
        await chapter.ActAsync(chapter.Bram, won, "accept", new { });
        await chapter.ActAsync(chapter.Bram, won, "close", new { outcome = "won", value = new { amount = 12000, currency = "SEK" } });
        await chapter.ActAsync(chapter.Bram, won, "thank", new { note = "Signed!" });
        await chapter.GiveAsync("Business cards", chapter.Bram, chapter.Chi);
        await chapter.GiveAsync("Bookkeeping", chapter.Chi, chapter.Anna);

        // The report is read from the async projection: wait until it has the week's referrals.
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            var report = JsonNode.Parse(await chapter.Api[chapter.Leader].GetStringAsync($"/api/chapters/{chapter.Id}/reports/weekly/{ThisWeekInStockholm()}"))!;
            if (report["counts"]!["given"]!.GetValue<int>() == 3 && report["counts"]!["thanked"]!.GetValue<int>() == 1)
                break;
            await Task.Delay(50);
        }
        return chapter;
    }

    [Fact]
    public async Task The_leader_sees_the_weeks_numbers_the_trend_and_the_flow_between_members()
    {
        var chapter = await ChapterWithAWeekOfHelpAsync(browser);
        var page = await browser.LaptopAsync();
        await BrowserFixture.SignInAsync(page, chapter.LeaderSignIn, $"/chapters/{chapter.Id}/reports/weekly/");

        await page.GotoAsync($"{browser.BaseUrl}/chapters/{chapter.Id}/reports/weekly/{ThisWeekInStockholm()}");
        await page.Locator("#report-page[data-ready=true]").WaitForAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Weekly report: Stockholm City");
        await Assertions.Expect(Count(page, "Given")).ToHaveTextAsync("3");
        await Assertions.Expect(Count(page, "Closed won")).ToHaveTextAsync("1");
        await Assertions.Expect(Count(page, "Thanked")).ToHaveTextAsync("1");
        await Assertions.Expect(Count(page, "Business won")).ToContainTextAsync("12");
        // The trend: twelve weeks, this one last.
        await Assertions.Expect(page.Locator("svg.trend text.axis").Filter(new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^W\\d\\d$") })).ToHaveCountAsync(12);
        // The flow: everyone by name, one arrow per giver and receiver, help that went around A → B → C → A.
        var flow = page.Locator("svg.flow");
        foreach (var name in new[] { "Anna Berg", "Bram de Vries", "Chi Nguyen", "Lena Leader" })
            await Assertions.Expect(flow.Locator("text.name", new() { HasText = name })).ToHaveCountAsync(1);
        await Assertions.Expect(flow.Locator("path[marker-end]")).ToHaveCountAsync(3);
        await Assertions.Expect(flow.Locator("desc")).ToContainTextAsync("Anna Berg → Bram de Vries: 1");
        await Assertions.Expect(page.GetByRole(AriaRole.Row, new() { Name = "Help that came back around" })).ToContainTextAsync("100");
        // The page never shows a balance between two members.
        (await page.ContentAsync()).ShouldNotContain("balance", Case.Insensitive);
        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "weekly-report.png"), FullPage = true });

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download CSV" }).ClickAsync());
        download.SuggestedFilename.ShouldBe($"{chapter.Id}-{ThisWeekInStockholm()}.csv");
        (await File.ReadAllTextAsync((await download.PathAsync())!)).ShouldContain("counts,given,3");

        await page.EmulateMediaAsync(new() { Media = Media.Print });
        await Assertions.Expect(page.Locator("header.bar")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator(".report-actions")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("svg.flow")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Without_a_week_the_report_opens_this_week_so_far_with_the_last_full_week_a_tap_away_and_members_are_refused()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await browser.LaptopAsync("sv-SE");
        await BrowserFixture.SignInAsync(page, chapter.LeaderSignIn, "/reports/weekly/");
        await page.Locator("#report-page[data-ready=true]").WaitForAsync();

        var thisWeek = ThisWeekInStockholm();
        page.Url.ShouldEndWith($"/reports/weekly/{thisWeek}");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Veckorapport: Stockholm City");
        await Assertions.Expect(page.Locator("#counts-heading")).ToHaveTextAsync($"Den här veckan hittills ({thisWeek})");
        await page.GetByRole(AriaRole.Link, new() { Name = "Senaste hela veckan" }).ClickAsync();
        var lastWeek = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm")).DateTime.AddDays(-7);
        var lastWeekName = $"{ISOWeek.GetYear(lastWeek)}-W{ISOWeek.GetWeekOfYear(lastWeek):00}";
        await Assertions.Expect(page.Locator("#counts-heading")).ToHaveTextAsync($"Vecka {lastWeekName}");
        page.Url.ShouldEndWith($"/reports/weekly/{lastWeekName}");

        var member = await browser.LaptopAsync();
        await BrowserFixture.SignInAsync(member, chapter.AnnaSignIn, "/give$");
        await member.GotoAsync($"{browser.BaseUrl}/chapters/{chapter.Id}/reports/weekly");
        await Assertions.Expect(member.Locator("#report-status")).ToHaveTextAsync("This page is for chapter leaders.");
    }

    [Theory]
    [InlineData("sv-SE", "Anna Berg → Bram de Vries: 1")]
    [InlineData("vi-VN", "Anna Berg → Bram de Vries: 1")]
    public async Task On_a_phone_every_text_of_the_report_is_at_least_12_px_and_the_flow_is_a_list(string locale, string firstArrow)
    {
        var chapter = await ChapterWithAWeekOfHelpAsync(browser);
        var page = await browser.PhoneAsync(locale);
        await BrowserFixture.SignInAsync(page, chapter.LeaderSignIn, $"/chapters/{chapter.Id}/reports/weekly/");
        await page.Locator("#report-page[data-ready=true]").WaitForAsync();
        (await page.EvaluateAsync<int>("() => window.innerWidth")).ShouldBe(390);

        // The size each text is drawn at on the screen: an SVG text's font size times the scale its drawing is shown at.
        var small = await page.EvaluateAsync<string[]>(
            """
            () => [...document.querySelectorAll('.report *')]
              .filter(e => [...e.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim()) && e.getClientRects().length > 0
                           && getComputedStyle(e).visibility !== 'hidden' && !e.closest('title, desc'))
              .map(e => {
                const size = parseFloat(getComputedStyle(e).fontSize) * (e instanceof SVGElement ? e.getScreenCTM().a : 1);
                return { text: e.textContent.trim().slice(0, 30), size };
              })
              .filter(t => t.size < 12)
              .map(t => `${t.text}: ${t.size.toFixed(1)} px`)
            """);
        small.ShouldBeEmpty();
        await Assertions.Expect(page.Locator("svg.flow")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator(".flow-list li").First).ToHaveTextAsync(firstArrow);
        await Assertions.Expect(page.Locator(".figures .explain").First).ToBeVisibleAsync();
        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, $"weekly-report-phone-{locale[..2]}.png"), FullPage = true });
    }

    private static ILocator Count(IPage page, string label) =>
        page.Locator(".counts div").Filter(new() { Has = page.Locator("dt", new() { HasTextString = label }) }).Locator("dd");
}
