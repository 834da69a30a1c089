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
        await page.GetByLabel("Min perfekta referens").FillAsync("En kontorschef som planerar en flytt");
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
}
