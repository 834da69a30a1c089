using System.Net;
using Microsoft.Playwright;

namespace Chapter.Web.Tests;

/// <summary>A leader manages the chapter's members and hands out sign-in links.</summary>
public sealed class MembersBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task A_leader_adds_edits_marks_left_and_issues_a_sign_in_link_that_works()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await browser.LaptopAsync();
        await BrowserFixture.SignInAsync(page, chapter.LeaderSignIn, "/reports/weekly/");
        await page.Locator("#report-page[data-ready=true]").WaitForAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Members" }).ClickAsync();
        await page.Locator("#members-page[data-ready=true]").WaitForAsync();

        var add = page.Locator("#add-member");
        await add.GetByLabel("Name").FillAsync("Đặng Thị Mai");
        await add.GetByLabel("Profession").FillAsync("Printer");
        await add.GetByLabel("Languages (e.g. sv, en)").FillAsync("vi, en");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add a member" }).ClickAsync();
        await Assertions.Expect(page.Locator("#members-status")).ToHaveTextAsync("Đặng Thị Mai was added.");
        var mai = page.Locator(".card", new() { HasText = "Đặng Thị Mai" });
        await Assertions.Expect(mai.Locator(".spoken")).ToHaveTextAsync("vi, en");

        await mai.GetByRole(AriaRole.Button, new() { Name = "Sign-in link" }).ClickAsync();
        await Assertions.Expect(mai.Locator("input.link")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("/signin#token=chapter_"));
        var link = await mai.Locator("input.link").InputValueAsync();
        var phone = await browser.PhoneAsync("vi-VN");
        await BrowserFixture.SignInAsync(phone, link, "/give$");
        await Assertions.Expect(phone.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Trao một lời giới thiệu");

        var bram = page.Locator(".card", new() { HasText = "Bram de Vries" });
        await bram.Locator("summary", new() { HasText = "Edit" }).ClickAsync();
        await bram.GetByLabel("Profession").FillAsync("Estate agent");
        await bram.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator(".card", new() { HasText = "Bram de Vries" }).Locator(".profession")).ToHaveTextAsync("Estate agent");

        var chi = page.Locator(".card", new() { HasText = "Chi Nguyen" });
        await chi.Locator("summary", new() { HasText = "Mark as left" }).ClickAsync();
        await chi.GetByRole(AriaRole.Button, new() { Name = "Yes, Chi Nguyen has left" }).ClickAsync();
        await Assertions.Expect(page.Locator(".card", new() { HasText = "Chi Nguyen" }).Locator(".status")).ToHaveTextAsync("Left");
        (await chapter.Api[chapter.Chi].GetAsync("/api/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "members.png"), FullPage = true });

        var error = page.Locator("#add-member .field-error[data-field=languages]");
        await add.GetByLabel("Name").FillAsync("Nobody");
        await add.GetByLabel("Profession").FillAsync("Tester");
        await add.GetByLabel("Languages (e.g. sv, en)").FillAsync("Swedish");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add a member" }).ClickAsync();
        await Assertions.Expect(error).ToBeVisibleAsync();
    }

    [Fact]
    public async Task A_member_cannot_manage_members()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await browser.PhoneAsync();
        await BrowserFixture.SignInAsync(page, chapter.AnnaSignIn, "/give$");
        await page.GotoAsync($"{browser.BaseUrl}/chapters/{chapter.Id}/members");
        await Assertions.Expect(page.Locator("#members-status")).ToHaveTextAsync("This page is for chapter leaders.");
        await Assertions.Expect(page.Locator("#add-member")).ToBeHiddenAsync();
    }
}
