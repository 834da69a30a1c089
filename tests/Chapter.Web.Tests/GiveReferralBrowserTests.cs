using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Chapter.Web.Tests;

/// <summary>A member at a breakfast meeting gives a referral from their phone (390 × 844).</summary>
public sealed class GiveReferralBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static async Task<IPage> SignedInAsync(IPage page, BrowserChapter chapter)
    {
        await BrowserFixture.SignInAsync(page, chapter.AnnaSignIn, "/give$");
        await page.Locator("form#give[data-ready=true]").WaitForAsync();
        return page;
    }

    private static async Task FillAsync(IPage page, string prospectName = "Sara Lind", bool consent = true)
    {
        await page.GetByLabel("Search by name or profession").FillAsync("realtor");
        await page.GetByLabel("To member").SelectOptionAsync(new SelectOptionValue { Label = "Bram de Vries · Realtor" });
        await page.GetByLabel("Prospect's name").FillAsync(prospectName);
        await page.GetByLabel("Prospect's e-mail").FillAsync("sara@example.se");
        await page.GetByLabel("What do they need?").FillAsync("A new office lease in Södermalm");
        await page.GetByLabel("Hot – ready to buy").CheckAsync();
        await page.GetByLabel("Language for the introduction").SelectOptionAsync("sv");
        if (consent)
            await page.GetByLabel("The prospect agreed to be contacted").CheckAsync();
    }

    [Fact]
    public async Task The_introductions_language_is_the_receivers_not_the_givers_page()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync("vi-VN"), chapter);
        var language = page.Locator("#language");

        // Nothing is proposed before a receiver is chosen; then their languages come first, the first of them chosen.
        await Assertions.Expect(language).ToHaveValueAsync("");
        await page.Locator("#receiverId").SelectOptionAsync(chapter.Bram.ToString());
        await Assertions.Expect(language).ToHaveValueAsync("sv");
        await Assertions.Expect(language.Locator("optgroup").First).ToHaveAttributeAsync("label", "Bram de Vries nói");
        (await language.Locator("optgroup").First.Locator("option").EvaluateAllAsync<string[]>("options => options.map(o => o.value)")).ShouldBe(["sv", "en"]);
        // A language the giver picks stays picked when the receiver changes.
        await language.SelectOptionAsync("vi");
        await page.Locator("#receiverId").SelectOptionAsync(chapter.Chi.ToString());
        await Assertions.Expect(language).ToHaveValueAsync("vi");
    }

    [Fact]
    public async Task A_member_gives_a_referral_from_a_phone()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);

        await FillAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToHaveTextAsync("Saved. Bram de Vries will be told.");
        var referral = (await chapter.ReferralsAsync()).Single()!;
        referral["receiverId"]!.GetValue<Guid>().ShouldBe(chapter.Bram);
        referral["temperature"]!.GetValue<string>().ShouldBe("hot");
        referral["language"]!.GetValue<string>().ShouldBe("sv");
        referral["prospect"]!["name"]!.GetValue<string>().ShouldBe("Sara Lind");
        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "give-referral-saved.png"), FullPage = true });
    }

    [Fact]
    public async Task The_confirmation_offers_to_introduce_the_prospect_and_the_receiver()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        (await chapter.Api[chapter.Bram].PutAsJsonAsync($"/api/chapters/{chapter.Id}/members/{chapter.Bram}/notifications",
            new { email = "bram@example.nl", referralReceived = false, referralUpdates = false, weeklyDigest = false })).EnsureSuccessStatusCode();
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);

        await FillAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToHaveTextAsync("Saved. Bram de Vries will be told.");
        // The button names both people, and the e-mail shows before it goes: the need as written, and the giver's word.
        await Assertions.Expect(page.Locator("#introduce-warning")).ToHaveTextAsync("Sara Lind will read the need as you wrote it for Bram de Vries: check it below.");
        await Assertions.Expect(page.Locator("#introduce-preview")).ToContainTextAsync("A new office lease in Södermalm");
        await page.GetByLabel("A word from you to them both").FillAsync("You two should talk!");
        await Assertions.Expect(page.Locator("#introduce-preview")).ToContainTextAsync("You two should talk!");
        await Assertions.Expect(page.Locator("#introduce-to")).ToContainTextAsync("Sara Lind, Bram de Vries");
        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "give-introduction-preview.png"), FullPage = true });
        await page.GetByRole(AriaRole.Button, new() { Name = "Introduce Sara Lind and Bram de Vries" }).ClickAsync();

        await Assertions.Expect(page.Locator("#introduce-status")).ToHaveTextAsync("Introduction sent. You are in copy.");
        (await chapter.ReferralsAsync()).Single()!["introducedAt"].ShouldNotBeNull();
    }

    [Theory]
    [InlineData("sv-SE", "Sara Lind läser behovet så som du skrev det till Bram de Vries: läs igenom det nedan.", "Presentera Sara Lind och Bram de Vries")]
    [InlineData("vi-VN", "Sara Lind sẽ đọc nhu cầu đúng như bạn viết cho Bram de Vries: hãy kiểm tra bên dưới.", "Giới thiệu Sara Lind và Bram de Vries")]
    public async Task The_introduction_is_previewed_in_the_givers_language_before_it_goes(string locale, string warning, string button)
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        (await chapter.Api[chapter.Bram].PutAsJsonAsync($"/api/chapters/{chapter.Id}/members/{chapter.Bram}/notifications",
            new { email = "bram@example.nl", referralReceived = false, referralUpdates = false, weeklyDigest = false })).EnsureSuccessStatusCode();
        var page = await SignedInAsync(await browser.PhoneAsync(locale), chapter);

        await page.Locator("#receiverId").SelectOptionAsync(chapter.Bram.ToString());
        await page.Locator("#prospect-name").FillAsync("Sara Lind");
        await page.Locator("#prospect-email").FillAsync("sara@example.se");
        await page.Locator("#need").FillAsync("Ett nytt kontor, helst nära T-centralen");
        await page.Locator("#consent").CheckAsync();
        await page.Locator("#send").ClickAsync();

        await Assertions.Expect(page.Locator("#introduce-warning")).ToHaveTextAsync(warning);
        // The e-mail is in the referral's language (the receiver's, proposed when he was picked), the need quoted as written.
        await Assertions.Expect(page.Locator("#introduce-preview")).ToContainTextAsync("Sara Lind söker: Ett nytt kontor, helst nära T-centralen");
        await page.Locator("#introduce-line").FillAsync("Ni borde prata!");
        await Assertions.Expect(page.Locator("#introduce-preview")).ToContainTextAsync("Ni borde prata!");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = button })).ToBeVisibleAsync();
        (await chapter.ReferralsAsync()).Single()!["introducedAt"].ShouldBeNull("looking at it sends nothing");
    }

    [Fact]
    public async Task Picking_the_receiver_shows_what_they_are_looking_for()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        (await chapter.Api[chapter.Bram].PutAsJsonAsync($"/api/chapters/{chapter.Id}/members/{chapter.Bram}/profile",
            new { ask = "Companies moving offices this year", idealReferral = "An office manager planning a move" })).EnsureSuccessStatusCode();
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);
        var ask = page.Locator("#receiver-ask");
        await Assertions.Expect(ask).ToBeHiddenAsync();

        await page.GetByLabel("To member").SelectOptionAsync(new SelectOptionValue { Label = "Bram de Vries · Realtor" });
        await Assertions.Expect(ask).ToContainTextAsync("Looking for: Companies moving offices this year");
        await Assertions.Expect(ask).ToContainTextAsync("Ideal referral: An office manager planning a move");

        await page.GetByLabel("To member").SelectOptionAsync(new SelectOptionValue { Index = 0 });
        await Assertions.Expect(ask).ToBeHiddenAsync();
    }

    [Fact]
    public async Task The_consent_box_blocks_submission()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);
        var posts = 0;
        page.Request += (_, request) => { if (request.Method == "POST") posts++; };

        await FillAsync(page, consent: false);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();

        await Assertions.Expect(page.Locator("#error-prospect\\.consent")).ToHaveTextAsync("Only with the prospect's permission: tick the box once they agreed.");
        await Assertions.Expect(page.GetByLabel("The prospect agreed to be contacted")).ToHaveAttributeAsync("aria-invalid", "true");
        posts.ShouldBe(0);
        (await chapter.ReferralsAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_validation_error_shows_beside_its_field()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);

        await FillAsync(page, prospectName: " ");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();

        var error = page.Locator("#error-prospect\\.name");
        await Assertions.Expect(error).ToHaveTextAsync("Write the prospect's name.");
        await Assertions.Expect(page.GetByLabel("Prospect's name")).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToHaveTextAsync("Not saved: please check the marked fields.");
        // Beside its field: the message sits right under the name input.
        var input = (await page.GetByLabel("Prospect's name").BoundingBoxAsync())!;
        var message = (await error.BoundingBoxAsync())!;
        (message.Y - (input.Y + input.Height)).ShouldBeInRange(0, 24);
        (await chapter.ReferralsAsync()).ShouldBeEmpty();
        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "give-referral-error.png"), FullPage = true });
    }

    [Fact]
    public async Task A_retry_after_a_lost_answer_gives_one_referral()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);
        var first = true;
        // The first send reaches the server, which stores the referral, but its answer is lost on the way back.
        await page.RouteAsync("**/referrals", async route =>
        {
            if (route.Request.Method == "POST" && first)
            {
                first = false;
                await route.FetchAsync();
                await route.AbortAsync("internetdisconnected");
                return;
            }
            await route.ContinueAsync();
        });

        await FillAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToContainTextAsync("Not saved: no connection.");
        (await chapter.ReferralsAsync()).Count.ShouldBe(1);

        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToHaveTextAsync("Saved. Bram de Vries will be told.");
        (await chapter.ReferralsAsync()).Count.ShouldBe(1);
    }

    [Theory]
    [InlineData("sv-SE", "sv", "Ge ett affärstips", "Kontaktens namn")]
    [InlineData("nl-NL", "nl", "Geef een referral", "Naam van de prospect")]
    [InlineData("vi-VN", "vi", "Trao một lời giới thiệu", "Tên khách hàng tiềm năng")]
    public async Task The_page_speaks_the_browsers_language(string locale, string lang, string heading, string nameLabel)
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync(locale), chapter);

        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("lang", lang);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(heading);
        await Assertions.Expect(page.GetByLabel(nameLabel)).ToBeVisibleAsync();
        Directory.CreateDirectory(Screenshots.Folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, $"give-referral-{lang}.png"), FullPage = true });
    }

    [Fact]
    public async Task Errors_speak_the_pages_language()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync("sv-SE"), chapter);

        await page.GetByLabel("Till medlem").SelectOptionAsync(new SelectOptionValue { Label = "Bram de Vries · Realtor" });
        await page.GetByLabel("Vad behöver de?").FillAsync("Ny kontorslokal");
        await page.GetByLabel("Kontakten har gått med på att bli kontaktad").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Skicka affärstipset" }).ClickAsync();

        await Assertions.Expect(page.Locator("#error-prospect\\.name")).ToHaveTextAsync("Skriv kontaktens namn.");
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToHaveTextAsync("Inte sparad: kontrollera de markerade fälten.");
    }

    [Fact]
    public async Task A_referral_can_be_given_with_the_keyboard_alone()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);

        await page.GetByLabel("Search by name or profession").FocusAsync();
        await page.Keyboard.TypeAsync("bram");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("ArrowDown");
        foreach (var text in new[] { "Sara Lind", "sara@example.se", "", "Accounting for a new shop" })
        {
            await page.Keyboard.PressAsync("Tab");
            await page.Keyboard.TypeAsync(text);
        }
        await page.Keyboard.PressAsync("Tab");      // the temperature's radio group: warm is chosen
        await page.Keyboard.PressAsync("Tab");      // the introduction's language
        await page.Keyboard.PressAsync("Tab");      // consent
        await page.Keyboard.PressAsync("Space");
        await page.Keyboard.PressAsync("Tab");      // send
        await page.Keyboard.PressAsync("Enter");

        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToHaveTextAsync("Saved. Bram de Vries will be told.");
        var referral = (await chapter.ReferralsAsync()).Single()!;
        referral["need"]!.GetValue<string>().ShouldBe("Accounting for a new shop");
        referral["receiverId"]!.GetValue<Guid>().ShouldBe(chapter.Bram);
    }

    [Fact]
    public async Task Signing_out_forgets_the_token_and_any_unsent_referral()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);
        await page.RouteAsync("**/referrals", route => route.Request.Method == "POST" ? route.AbortAsync("internetdisconnected") : route.ContinueAsync());
        await FillAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToContainTextAsync("Not saved: no connection.");
        (await page.EvaluateAsync<string?>("localStorage.getItem('chapter.pendingReferral')")).ShouldNotBeNull();

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();

        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/signin$"));
        (await page.EvaluateAsync<string?>("localStorage.getItem('chapter.token')")).ShouldBeNull();
        (await page.EvaluateAsync<string?>("localStorage.getItem('chapter.pendingReferral')")).ShouldBeNull();
        await page.GotoAsync($"{browser.BaseUrl}/give", new() { WaitUntil = WaitUntilState.Commit });
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/signin$"));
        await Assertions.Expect(page.Locator("#signin-status")).ToHaveTextAsync("Open the sign-in link your chapter sent you, or ask for one by e-mail.");
    }

    [Fact]
    public async Task An_unsent_referral_is_still_there_after_the_page_is_reloaded()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync(), chapter);
        await page.RouteAsync("**/referrals", route => route.Request.Method == "POST" ? route.AbortAsync("internetdisconnected") : route.ContinueAsync());
        await FillAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToContainTextAsync("Not saved: no connection.");

        await page.UnrouteAllAsync();
        await page.ReloadAsync();
        await page.Locator("form#give[data-ready=true]").WaitForAsync();
        await Assertions.Expect(page.GetByLabel("Prospect's name")).ToHaveValueAsync("Sara Lind");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send referral" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Status).Last).ToHaveTextAsync("Saved. Bram de Vries will be told.");
        (await chapter.ReferralsAsync()).Count.ShouldBe(1);
    }

    [Fact]
    public async Task The_language_switch_overrides_the_browser_and_is_remembered()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await SignedInAsync(await browser.PhoneAsync("en-GB"), chapter);

        await page.GetByRole(AriaRole.Link, new() { Name = "Nederlands" }).ClickAsync();
        await page.Locator("form#give[data-ready=true]").WaitForAsync();
        await Assertions.Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "nl");
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Geef een referral");
    }
}

internal static class Screenshots
{
    /// <summary>
    /// docs/screenshots in the repository when CHAPTER_SCREENSHOTS=1 (to refresh the pictures the README shows),
    /// else a temporary folder, so an ordinary test run leaves the checkout as it was.
    /// </summary>
    public static string Folder { get; } = Environment.GetEnvironmentVariable("CHAPTER_SCREENSHOTS") == "1"
        ? Path.Combine(FindRepositoryRoot(), "docs", "screenshots")
        : Path.Combine(Path.GetTempPath(), "chapter-screenshots");

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Chapter.sln")))
                return directory.FullName;
        return Path.GetTempPath();
    }
}
