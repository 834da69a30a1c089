using System.Net;
using System.Net.Http.Json;
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
        // Languages are picked by their names; one the list lacks is given by its code.
        await add.GetByLabel("Tiếng Việt").CheckAsync();
        await add.GetByLabel("English").CheckAsync();
        await add.GetByLabel("Other languages").FillAsync("pt");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add a member" }).ClickAsync();
        await Assertions.Expect(page.Locator("#members-status")).ToHaveTextAsync("Đặng Thị Mai was added.");
        var mai = page.Locator(".card", new() { HasText = "Đặng Thị Mai" });
        await Assertions.Expect(mai.Locator(".spoken")).ToHaveTextAsync("en, vi, pt");

        // Opening the links makes none: a link is made on purpose, listed while live, and revoked from the list.
        await mai.Locator("summary", new() { HasText = "Sign-in links" }).ClickAsync();
        await Assertions.Expect(mai.Locator(".live-links li")).ToHaveTextAsync(["No live sign-in links."]);
        await mai.GetByRole(AriaRole.Button, new() { Name = "Make a link to copy" }).ClickAsync();
        await Assertions.Expect(mai.Locator("input.link")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("/signin#token=chapter_"));
        await Assertions.Expect(mai.Locator(".live-links li")).ToHaveCountAsync(1);
        var link = await mai.Locator("input.link").InputValueAsync();
        var phone = await browser.PhoneAsync("vi-VN");
        await BrowserFixture.SignInAsync(phone, link, "/give$");
        await Assertions.Expect(phone.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Trao một lời giới thiệu");
        await mai.Locator(".live-links").GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Assertions.Expect(mai.Locator(".live-links li")).ToHaveTextAsync(["No live sign-in links."]);
        (await browser.Client(new Uri(link).Fragment["#token=".Length..]).GetAsync("/api/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

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
        await add.GetByLabel("Other languages").FillAsync("Swedish");
        await add.GetByRole(AriaRole.Button, new() { Name = "Add a member" }).ClickAsync();
        await Assertions.Expect(error).ToBeVisibleAsync();
    }

    [Fact]
    public async Task A_leader_forgets_a_member_who_left_and_downloads_the_chapters_data()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var page = await browser.LaptopAsync("sv-SE");
        await BrowserFixture.SignInAsync(page, chapter.LeaderSignIn, "/reports/weekly/");
        await page.GotoAsync($"{browser.BaseUrl}/chapters/{chapter.Id}/members");
        await page.Locator("#members-page[data-ready=true]").WaitForAsync();

        var chi = page.Locator(".card", new() { HasText = "Chi Nguyen" });
        await chi.Locator("summary", new() { HasText = "Markera som lämnad" }).ClickAsync();
        await chi.GetByRole(AriaRole.Button, new() { Name = "Ja, Chi Nguyen har lämnat" }).ClickAsync();
        var left = page.Locator(".card", new() { HasText = "Chi Nguyen" });
        await left.Locator("summary", new() { HasText = "Glöm den här medlemmen" }).ClickAsync();
        await left.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Glöm Chi Nguyen för gott") }).ClickAsync();
        await Assertions.Expect(page.Locator("#members-status")).ToHaveTextAsync("Chi Nguyen är glömd. Chapterns siffror finns kvar.");
        await Assertions.Expect(page.Locator(".card", new() { HasText = "Chi Nguyen" })).ToHaveCountAsync(0);
        var former = page.Locator(".card", new() { HasText = "Tidigare medlem" });
        await Assertions.Expect(former).ToHaveCountAsync(1);
        await Assertions.Expect(former.Locator("details.forget")).ToBeHiddenAsync();

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Ladda ner chapterns data (ZIP)" }).ClickAsync());
        download.SuggestedFilename.ShouldStartWith($"{chapter.Id}-");
        var saved = Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.zip");
        await download.SaveAsAsync(saved);
        using (var zip = System.IO.Compression.ZipFile.OpenRead(saved))
        {
            zip.Entries.Select(e => e.FullName).ShouldContain("members.csv");
            using var members = new StreamReader(zip.GetEntry("members.csv")!.Open());
            (await members.ReadToEndAsync()).ShouldNotContain("Chi Nguyen");
        }
        File.Delete(saved);
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

    [Fact]
    public async Task A_leader_e_mails_a_member_their_link_and_it_signs_them_in_on_their_phone()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var address = $"anna-{Guid.NewGuid():N}@example.se";
        (await chapter.AnnaApi.PutAsJsonAsync($"/api/chapters/{chapter.Id}/members/{chapter.Anna}/notifications",
            new { email = address, referralReceived = false, referralUpdates = false, weeklyDigest = false })).EnsureSuccessStatusCode();
        var page = await browser.LaptopAsync();
        await BrowserFixture.SignInAsync(page, chapter.LeaderSignIn, "/reports/weekly/");
        await page.GotoAsync($"{browser.BaseUrl}/chapters/{chapter.Id}/members");
        await page.Locator("#members-page[data-ready=true]").WaitForAsync();
        var anna = page.Locator(".card", new() { HasText = "Anna Berg" });

        await anna.Locator("summary", new() { HasText = "Sign-in links" }).ClickAsync();
        await anna.GetByRole(AriaRole.Button, new() { Name = "E-mail a sign-in link" }).ClickAsync();
        await Assertions.Expect(page.Locator("#members-status")).ToHaveTextAsync("A sign-in link is on its way to Anna Berg.");

        var link = await MailedLinkAsync(address);
        var phone = await browser.PhoneAsync("sv-SE");
        await BrowserFixture.SignInAsync(phone, link, "/give$");
        // Used once: the same link again says so, and offers to send a new one.
        var again = await browser.PhoneAsync("sv-SE");
        await again.GotoAsync(link);
        await Assertions.Expect(again.Locator("#signin-status")).ToHaveTextAsync("Länken är redan använd eller för gammal. Be om en ny här nedanför.");
        await again.GetByLabel("Din e-postadress").FillAsync(address);
        await again.GetByRole(AriaRole.Button, new() { Name = "Mejla mig en inloggningslänk" }).ClickAsync();
        await Assertions.Expect(again.Locator("#signin-ask-status")).ToContainTextAsync("en inloggningslänk på väg");
        (await MailedLinkAsync(address, count: 2)).ShouldNotBe(link);
    }

    /// <summary>The sign-in link in the latest of the e-mails to this address that the service left in its pickup directory.</summary>
    private async Task<string> MailedLinkAsync(string address, int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var mails = Directory.Exists(browser.MailDirectory)
                ? Directory.GetFiles(browser.MailDirectory, "*.eml").Select(f => MimeKit.MimeMessage.Load(f))
                    .Where(m => m.To.Mailboxes.Any(t => t.Address == address)).OrderBy(m => m.Date).ToList()
                : [];
            var link = mails.Count >= count ? System.Text.RegularExpressions.Regex.Match(mails[^1].TextBody ?? "", @"http\S+/signin#code=[A-Za-z0-9_-]+").Value : "";
            // The service here is not told its public address: the link's path and code, on the address it listens on.
            if (link.Length > 0)
                return browser.BaseUrl + link[link.IndexOf("/signin", StringComparison.Ordinal)..];
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{count} e-mail(s) to {address} did not arrive.");
            await Task.Delay(200);
        }
    }
}
