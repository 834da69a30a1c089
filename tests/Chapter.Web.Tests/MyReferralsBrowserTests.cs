using Microsoft.Playwright;

namespace Chapter.Web.Tests;

/// <summary>The receiver takes the next steps with a tap; the giver sees what became of their referral.</summary>
public sealed class MyReferralsBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static async Task<IPage> MyReferralsAsync(IPage page, string signInUrl)
    {
        await BrowserFixture.SignInAsync(page, signInUrl, "/give$");
        await page.GetByRole(AriaRole.Link, new() { Name = "My referrals" }).ClickAsync();
        await page.Locator("#my[data-ready=true]").WaitForAsync();
        return page;
    }

    [Fact]
    public async Task The_receiver_accepts_closes_and_thanks_and_the_giver_sees_each_step()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        await chapter.GiveAsync("A new office lease in Södermalm");
        var bram = await MyReferralsAsync(await browser.PhoneAsync(), chapter.BramSignIn);
        var card = bram.Locator("#received .card");

        await Assertions.Expect(card.Locator(".who")).ToHaveTextAsync("From Anna Berg");
        await Assertions.Expect(card.Locator(".contact")).ToContainTextAsync("Sara Lind · sara@example.se");
        await card.GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();
        await Assertions.Expect(card.Locator(".state")).ToHaveTextAsync("Accepted");

        await card.Locator("summary", new() { HasText = "Won" }).ClickAsync();
        await card.GetByLabel("Value").FillAsync("12000");
        await card.GetByRole(AriaRole.Button, new() { Name = "Won", Exact = true }).ClickAsync();
        await Assertions.Expect(card.Locator(".state")).ToHaveTextAsync("Closed");

        await card.Locator("summary", new() { HasText = "Thank the giver" }).ClickAsync();
        // Thanking asks what came of it, naming the giver: report back to whoever introduced you.
        await Assertions.Expect(card.Locator(".prompt")).ToHaveTextAsync("What came of it? Tell Anna Berg.");
        await card.GetByRole(AriaRole.Textbox).FillAsync("Signed a two-year lease. Thank you, Anna!");
        await card.GetByRole(AriaRole.Button, new() { Name = "Thank the giver" }).ClickAsync();
        await Assertions.Expect(card.Locator(".state")).ToHaveTextAsync("Thanked");
        // What is left to do is to set it right, should it be wrong: within 30 days, with a reason.
        await Assertions.Expect(card.Locator(".actions summary")).ToHaveTextAsync(["Correct"]);
        Directory.CreateDirectory(Screenshots.Folder);
        await bram.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "my-referrals-receiver.png"), FullPage = true });
        await card.Locator("summary", new() { HasText = "Correct" }).ClickAsync();
        await Assertions.Expect(card.GetByLabel("Value")).ToHaveValueAsync("12000");
        await card.GetByLabel("Value").FillAsync("1200");
        await card.GetByLabel("Why the correction (the giver reads it)").FillAsync("One zero too many");
        await card.GetByRole(AriaRole.Button, new() { Name = "Correct" }).ClickAsync();
        await Assertions.Expect(card.Locator(".steps li").Last).ToContainTextAsync("One zero too many");
        await Assertions.Expect(card.Locator(".steps li", new() { HasText = "Won" })).ToContainTextAsync("1,200");

        var anna = await MyReferralsAsync(await browser.PhoneAsync(), chapter.AnnaSignIn);
        var given = anna.Locator("#given .card");
        await Assertions.Expect(given.Locator(".who")).ToHaveTextAsync("To Bram de Vries");
        await Assertions.Expect(given.Locator(".steps li")).ToHaveCountAsync(4);
        await Assertions.Expect(given.Locator(".steps li").Nth(0)).ToContainTextAsync("Accepted");
        await Assertions.Expect(given.Locator(".steps li").Nth(1)).ToContainTextAsync("Won");
        await Assertions.Expect(given.Locator(".steps li").Nth(1)).ToContainTextAsync("1,200");
        await Assertions.Expect(given.Locator(".steps li").Nth(3)).ToContainTextAsync("One zero too many");
        await Assertions.Expect(given.Locator(".steps li").Nth(2)).ToContainTextAsync("Signed a two-year lease. Thank you, Anna!");
        await Assertions.Expect(given.Locator(".actions")).ToBeEmptyAsync();
        await anna.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "my-referrals-giver.png"), FullPage = true });
    }

    [Fact]
    public async Task A_receiver_declines_with_a_reason()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        await chapter.GiveAsync();
        var bram = await MyReferralsAsync(await browser.PhoneAsync(), chapter.BramSignIn);
        var card = bram.Locator("#received .card");

        await card.Locator("summary", new() { HasText = "Decline" }).ClickAsync();
        await card.GetByLabel("Why not?").FillAsync("Outside my area");
        await card.GetByRole(AriaRole.Button, new() { Name = "Decline" }).ClickAsync();

        await Assertions.Expect(card.Locator(".state")).ToHaveTextAsync("Declined");
        await Assertions.Expect(card.Locator(".steps li")).ToContainTextAsync("Outside my area");
    }

    [Fact]
    public async Task A_member_chooses_which_e_mails_they_get()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var bram = await MyReferralsAsync(await browser.PhoneAsync(), chapter.BramSignIn);

        await bram.Locator("#notifications summary").ClickAsync();
        await Assertions.Expect(bram.GetByLabel("When someone gives me a referral")).ToBeCheckedAsync();
        await bram.GetByLabel("E-mail address").FillAsync("bram@example.nl");
        await bram.GetByLabel("When a referral I gave is accepted, declined, closed or thanked").UncheckAsync();
        await bram.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(bram.Locator("#notifications-status")).ToHaveTextAsync("Saved.");

        var saved = System.Text.Json.Nodes.JsonNode.Parse(
            await chapter.Api[chapter.Bram].GetStringAsync($"/api/chapters/{chapter.Id}/members/{chapter.Bram}/notifications"))!;
        saved["email"]!.GetValue<string>().ShouldBe("bram@example.nl");
        saved["referralReceived"]!.GetValue<bool>().ShouldBeTrue();
        saved["referralUpdates"]!.GetValue<bool>().ShouldBeFalse();

        // The browser itself keeps a malformed address from being sent (the API would refuse it too, naming 'email').
        await bram.GetByLabel("E-mail address").FillAsync("not an address");
        await bram.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        (await bram.GetByLabel("E-mail address").EvaluateAsync<bool>("input => input.validity.valid")).ShouldBeFalse();
        System.Text.Json.Nodes.JsonNode.Parse(await chapter.Api[chapter.Bram].GetStringAsync(
            $"/api/chapters/{chapter.Id}/members/{chapter.Bram}/notifications"))!["email"]!.GetValue<string>().ShouldBe("bram@example.nl");
    }

    [Fact]
    public async Task A_member_sees_whom_to_meet_next_and_records_the_one_to_one_with_a_tap()
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var bram = await MyReferralsAsync(await browser.PhoneAsync(), chapter.BramSignIn);
        var chi = bram.Locator("#to-meet .card", new() { HasText = "Chi Nguyen · Printer" });

        await Assertions.Expect(chi.Locator(".reasons")).ToContainTextAsync("You have not met yet");
        await chi.GetByRole(AriaRole.Button, new() { Name = "We met" }).ClickAsync();
        await Assertions.Expect(bram.Locator("#my-status")).ToHaveTextAsync("Recorded. Enjoy getting to know each other.");
        await Assertions.Expect(chi).ToHaveCountAsync(0);

        var recorded = System.Text.Json.Nodes.JsonNode.Parse(await chapter.Api[chapter.Bram].GetStringAsync($"/api/chapters/{chapter.Id}/one-to-ones"))!;
        recorded["items"]!.AsArray().ShouldContain(o => o!["memberA"]!.GetValue<Guid>() == chapter.Bram && o["memberB"]!.GetValue<Guid>() == chapter.Chi);
        Directory.CreateDirectory(Screenshots.Folder);
        await bram.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, "my-meet-next.png"), FullPage = true });
    }

    private async Task<IPage> MyPageAsync(string signInUrl, string locale)
    {
        var page = await browser.PhoneAsync(locale);
        await BrowserFixture.SignInAsync(page, signInUrl, "/give$");
        await page.GotoAsync($"{browser.BaseUrl}/my");
        await page.Locator("#my[data-ready=true]").WaitForAsync();
        return page;
    }

    [Theory]
    [InlineData("sv-SE", "Vi har träffats", "Sparat. Lycka till med att lära känna varandra.", "Ångra", "Ångrat: mötet räknas inte.")]
    [InlineData("vi-VN", "Chúng tôi đã gặp", "Đã lưu. Chúc hai bạn hiểu nhau hơn.", "Hoàn tác", "Đã hoàn tác: buổi gặp không còn được tính.")]
    public async Task A_we_met_tapped_by_mistake_is_undone(string locale, string weMet, string recorded, string undo, string undone)
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var bram = await MyPageAsync(chapter.BramSignIn, locale);
        var chi = bram.Locator("#to-meet .card", new() { HasText = "Chi Nguyen · Printer" });

        await chi.GetByRole(AriaRole.Button, new() { Name = weMet }).ClickAsync();
        await Assertions.Expect(bram.Locator("#my-status")).ToHaveTextAsync(recorded);
        await Assertions.Expect(chi).ToHaveCountAsync(0);
        await bram.GetByRole(AriaRole.Button, new() { Name = undo }).ClickAsync();

        await Assertions.Expect(bram.Locator("#my-status")).ToHaveTextAsync(undone);
        await Assertions.Expect(chi).ToHaveCountAsync(1);
        await Assertions.Expect(bram.GetByRole(AriaRole.Button, new() { Name = undo })).ToBeHiddenAsync();
        var held = System.Text.Json.Nodes.JsonNode.Parse(await chapter.Api[chapter.Bram].GetStringAsync($"/api/chapters/{chapter.Id}/one-to-ones"))!;
        held["items"]!.AsArray().ShouldBeEmpty();
    }

    [Theory]
    [InlineData("vi-VN", "Bram de Vries đã rời nhóm: hãy chuyển lời giới thiệu này cho thành viên khác, hoặc rút lại.",
        "Chuyển cho thành viên khác", "Gửi Chi Nguyen", "Lý do (người nhận sẽ đọc; không bắt buộc)", "Rút lại", "Đã rút lại")]
    [InlineData("sv-SE", "Bram de Vries har lämnat gruppen: ge affärstipset till en annan medlem, eller ta tillbaka det.",
        "Ge till en annan medlem", "Till Chi Nguyen", "Varför (mottagaren läser det; valfritt)", "Ta tillbaka", "Tillbakatagen")]
    public async Task A_referral_whose_receiver_left_is_flagged_and_the_giver_passes_one_on_and_takes_one_back(
        string locale, string flag, string passOn, string passedTo, string reasonLabel, string takeBack, string takenBackState)
    {
        var chapter = await BrowserChapter.CreateAsync(browser);
        var passedOn = await chapter.GiveAsync("Một văn phòng mới ở quận 1");
        var takenBack = await chapter.GiveAsync("Một kế toán cho cửa hàng");
        (await browser.Operator.PostAsync($"/api/chapters/{chapter.Id}/members/{chapter.Bram}/leave", null)).EnsureSuccessStatusCode();
        var anna = await MyPageAsync(chapter.AnnaSignIn, locale);
        var first = anna.Locator("#given .card", new() { HasText = "Một văn phòng mới ở quận 1" });
        var second = anna.Locator("#given .card", new() { HasText = "Một kế toán cho cửa hàng" });

        await Assertions.Expect(first.Locator(".flag")).ToHaveTextAsync(flag);
        await Assertions.Expect(second.Locator(".flag")).ToBeVisibleAsync();
        Directory.CreateDirectory(Screenshots.Folder);
        await anna.ScreenshotAsync(new() { Path = Path.Combine(Screenshots.Folder, $"my-referral-receiver-left-{locale[..2]}.png"), FullPage = true });

        // Both choices are open; the list offers the members still in the chapter, not the one who left nor the giver.
        await Assertions.Expect(first.Locator("select[name=receiverId] option")).ToHaveTextAsync(["Chi Nguyen · Printer", "Lena Leader · Lawyer"]);
        await first.Locator("select[name=receiverId]").SelectOptionAsync(new SelectOptionValue { Label = "Chi Nguyen · Printer" });
        await first.GetByRole(AriaRole.Button, new() { Name = passOn }).ClickAsync();
        await Assertions.Expect(first.Locator(".who")).ToHaveTextAsync(passedTo);
        await Assertions.Expect(first.Locator(".flag")).ToHaveCountAsync(0);

        await second.GetByLabel(reasonLabel).FillAsync("Khách hàng đã tự tìm được");
        await second.GetByRole(AriaRole.Button, new() { Name = takeBack }).ClickAsync();
        await Assertions.Expect(second.Locator(".state")).ToHaveTextAsync(takenBackState);
        await Assertions.Expect(second.Locator(".actions")).ToBeEmptyAsync();

        var referrals = await chapter.ReferralsAsync();
        referrals.Single(r => r!["id"]!.GetValue<Guid>() == passedOn)!["receiverId"]!.GetValue<Guid>().ShouldBe(chapter.Chi);
        referrals.Single(r => r!["id"]!.GetValue<Guid>() == takenBack)!["status"]!.GetValue<string>().ShouldBe("withdrawn");
    }
}
