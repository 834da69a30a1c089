using Microsoft.Playwright;

namespace Chapter.Web.Tests;

/// <summary>A member writes their profile and ask from their phone; the chapter then sees the ask.</summary>
public sealed class ProfileBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task A_member_writes_their_ask_and_it_shows_in_the_chapters_asks()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await browser.PhoneAsync("sv-SE");
        await BrowserFixture.SignInAsync(page, chapter.BramSignIn, "/give$");
        await page.GetByRole(AriaRole.Link, new() { Name = "Min profil" }).ClickAsync();
        await page.Locator("form#profile[data-ready=true]").WaitForAsync();

        await page.GetByLabel("Vad jag söker").FillAsync("Företag som flyttar kontor i år");
        await page.GetByLabel("Mitt perfekta affärstips").FillAsync("En kontorschef som planerar en flytt");
        await page.GetByRole(AriaRole.Button, new() { Name = "Spara" }).ClickAsync();
        await Assertions.Expect(page.Locator("#profile-status")).ToHaveTextAsync("Sparat. Gruppen ser vad du söker.");

        var asks = System.Text.Json.Nodes.JsonNode.Parse(await chapter.AnnaApi.GetStringAsync($"/api/chapters/{chapter.Id}/asks"))!["items"]!.AsArray();
        asks.ShouldHaveSingleItem()!["ask"]!.GetValue<string>().ShouldBe("Företag som flyttar kontor i år");

        await page.ReloadAsync();
        await page.Locator("form#profile[data-ready=true]").WaitForAsync();
        await Assertions.Expect(page.GetByLabel("Vad jag söker")).ToHaveValueAsync("Företag som flyttar kontor i år");
        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "profile.png"), FullPage = true });
    }

    [Theory]
    [InlineData("sv-SE", "Min profil", "Vad jag söker", "Vem du kan träffa härnäst", "Ni har inte träffats än", "Vi har träffats")]
    [InlineData("nl-NL", "Mijn profiel", "Wat ik zoek", "Wie je hierna kunt ontmoeten", "Jullie hebben elkaar nog niet ontmoet", "We hebben elkaar ontmoet")]
    [InlineData("vi-VN", "Hồ sơ của tôi", "Điều tôi đang tìm", "Nên gặp ai tiếp theo", "Hai bạn chưa gặp nhau", "Chúng tôi đã gặp")]
    public async Task The_profile_and_whom_to_meet_next_speak_the_members_language(
        string locale, string profileHeading, string askLabel, string meetNextHeading, string noTieYet, string weMet)
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await browser.PhoneAsync(locale);
        await BrowserFixture.SignInAsync(page, chapter.BramSignIn, "/give$");

        await page.GotoAsync($"{browser.BaseUrl}/profile");
        await page.Locator("form#profile[data-ready=true]").WaitForAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(profileHeading);
        await Assertions.Expect(page.GetByLabel(askLabel)).ToBeVisibleAsync();

        await page.GotoAsync($"{browser.BaseUrl}/my");
        await page.Locator("#my[data-ready=true]").WaitForAsync();
        await Assertions.Expect(page.Locator("#meet-heading")).ToHaveTextAsync(meetNextHeading);
        var chi = page.Locator("#to-meet .card", new() { HasText = "Chi Nguyen · Printer" });
        await Assertions.Expect(chi.Locator(".reasons")).ToContainTextAsync(noTieYet);
        await Assertions.Expect(chi.GetByRole(AriaRole.Button, new() { Name = weMet })).ToBeVisibleAsync();
    }
}
