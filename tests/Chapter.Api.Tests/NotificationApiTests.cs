using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MimeKit;

namespace Chapter.Api.Tests;

/// <summary>
/// E-mail notifications, through Wolverine's outbox to a real SMTP server inside the test: the receiver hears of a referral,
/// the giver of each step after it, each in their own language, and never of the prospect.
/// </summary>
public sealed class NotificationApiTests(NotificationApiTests.Fixture fixture) : IClassFixture<NotificationApiTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public TestSmtpServer Smtp { get; } = new();
        public ApiFixture Api { get; } = new();

        public Task InitializeAsync()
        {
            Api.Settings["Chapter:Smtp:Host"] = "127.0.0.1";
            Api.Settings["Chapter:Smtp:Port"] = Smtp.Port.ToString();
            Api.Settings["Chapter:Smtp:UseTls"] = "false";
            Api.Settings["Chapter:Smtp:From"] = "Chapter <chapter@example.org>";
            Api.Settings["Chapter:PublicUrl"] = "https://chapter.example";
            // The sign-in tests share this service, and every test asks from the same address: its own limit is tested elsewhere.
            Api.Settings["Chapter:RateLimit:SignInRequestsPerHour"] = "1000";
            string[] delays = ["00:00:00.100", "00:00:00.200", "00:00:00.300", "00:00:00.400", "00:00:00.500"];
            for (var i = 0; i < delays.Length; i++)
                Api.Settings[$"Chapter:Mail:RetryDelays:{i}"] = delays[i];
            return Api.InitializeAsync();
        }

        public async Task DisposeAsync()
        {
            await ((IAsyncLifetime)Api).DisposeAsync();
            await Smtp.DisposeAsync();
        }
    }

    private TestSmtpServer Smtp => fixture.Smtp;

    private static async Task<string> WantsMailAsync(Scenario scenario, Guid member, bool received = true, bool updates = true)
    {
        var address = $"m-{Guid.NewGuid():N}@example.se";
        var response = await scenario.As(member).PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{member}/notifications",
            new { email = address, referralReceived = received, referralUpdates = updates, weeklyDigest = true });
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return address;
    }

    private static string Everything(MimeMessage message) => $"{message.Subject}\n{message.TextBody}\n{message.HtmlBody}";

    [Fact]
    public async Task The_receiver_hears_of_a_referral_in_Swedish_with_the_need_and_the_language_and_never_the_prospect()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        // Greeted by the name people call him by, not his full name.
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram Nilsson", languages: ["sv", "en"]));
        var address = await WantsMailAsync(scenario, bram);

        await scenario.GiveAsync(anna, bram);

        var mail = (await Smtp.WaitForAsync(address)).Single();
        mail.Subject.ShouldBe("Anna har gett dig ett affärstips");
        mail.From.Mailboxes.Single().Address.ShouldBe("chapter@example.org");
        mail.Body!.Headers["Content-Language"].ShouldBe("sv");
        mail.TextBody!.ShouldContain("Hej Bram,");
        mail.TextBody!.ShouldContain("Anna har gett dig ett affärstips i Stockholm City.");
        mail.TextBody!.ShouldContain("Behov: New office lease");
        mail.TextBody!.ShouldContain("Temperatur: Varm – intresserad");
        // One colon per line, and every text part says how it is encoded.
        mail.TextBody!.Split('\n').ShouldAllBe(line => line.Count(c => c == ':') <= 1 || line.Contains("://"));
        mail.BodyParts.OfType<MimeKit.TextPart>().ShouldAllBe(part => part.ContentTransferEncoding == MimeKit.ContentEncoding.QuotedPrintable);
        mail.TextBody!.ShouldContain("Introduktion på: svenska (sv)");
        mail.TextBody!.ShouldContain("https://chapter.example/my");
        mail.HtmlBody!.ShouldContain("<a href=\"https://chapter.example/my\">");
        mail.HtmlBody!.ShouldContain("<html lang=\"sv\">");
        // The prospect's name, e-mail, phone and company stay behind the sign-in.
        foreach (var secret in new[] { "Sara", "Lind", "sara@example.se", "123 45 67" })
            Everything(mail).ShouldNotContain(secret);

        // The last line turns this kind off; so does the mail client's one-click unsubscribe, which posts to the same link.
        var turnOff = mail.Headers["List-Unsubscribe"]!.Trim('<', '>');
        turnOff.ShouldStartWith("https://chapter.example/notifications/off/");
        turnOff.ShouldEndWith("/referral-received");
        mail.TextBody!.TrimEnd().ShouldEndWith(turnOff);
        mail.Headers["List-Unsubscribe-Post"].ShouldBe("List-Unsubscribe=One-Click");
    }

    [Fact]
    public async Task The_giver_hears_each_step_in_Vietnamese_and_the_thanks_is_the_report_back()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        // A Vietnamese full name puts the given name last: "Xin chào Chi".
        var (chi, bram) = (await scenario.AddMemberAsync("Nguyễn Thị Chi", languages: ["vi", "en"]), await scenario.AddMemberAsync("Bram"));
        var address = await WantsMailAsync(scenario, chi);

        var won = await scenario.GiveAsync(chi, bram);
        (await scenario.ActAsync(bram, won, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ActAsync(bram, won, "close", new { outcome = "won", value = new { amount = 12000.50m, currency = "SEK" } })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ActAsync(bram, won, "thank", new { note = "Đã ký hợp đồng thuê hai năm. Cảm ơn Chi!" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var declined = await scenario.GiveAsync(chi, bram);
        (await scenario.ActAsync(bram, declined, "decline", new { reason = "Outside my area" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        // A repeat changes nothing, so it tells nobody anything.
        (await scenario.ActAsync(bram, declined, "decline", new { reason = "Outside my area" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var mails = await Smtp.WaitForAsync(address, 4);
        mails.Select(m => m.Subject).Order().ShouldBe(new[]
        {
            "Bram cảm ơn bạn vì lời giới thiệu",
            "Bram đã chấp nhận lời giới thiệu của bạn",
            "Bram đã chốt được hợp đồng từ lời giới thiệu của bạn",
            "Bram đã từ chối lời giới thiệu của bạn",
        }.Order());
        mails.ShouldAllBe(m => m.TextBody!.StartsWith("Xin chào Chi,") && m.Body!.Headers["Content-Language"] == "vi");
        mails.Single(m => m.Subject!.Contains("chốt")).TextBody!.ShouldContain("Giá trị: 12.000,5 SEK");
        mails.Single(m => m.Subject!.Contains("cảm ơn")).TextBody!.ShouldContain("Kết quả: Đã ký hợp đồng thuê hai năm. Cảm ơn Chi!");
        mails.Single(m => m.Subject!.Contains("từ chối")).TextBody!.ShouldContain("Lý do: Outside my area");
        mails.ShouldAllBe(m => m.Headers["List-Unsubscribe"]!.EndsWith("/referral-updates>"));
        mails.Select(m => m.MessageId).Distinct().Count().ShouldBe(4);

        await Task.Delay(TimeSpan.FromSeconds(1));
        Smtp.To(address).Count.ShouldBe(4, "the repeated decline sends nothing");
    }

    [Fact]
    public async Task The_giver_hears_of_a_correction_with_its_reason_in_Swedish()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna", languages: ["sv"]), await scenario.AddMemberAsync("Bram"));
        var address = await WantsMailAsync(scenario, anna);
        var id = await scenario.GiveAsync(anna, bram);
        await scenario.ActAsync(bram, id, "accept", new { });
        await scenario.ActAsync(bram, id, "close", new { outcome = "won", value = new { amount = 12000m, currency = "SEK" } });
        await Smtp.WaitForAsync(address, 2); // accepted, won

        (await scenario.ActAsync(bram, id, "correct", new { outcome = "lost", reason = "Kunden valde en annan" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var mail = (await Smtp.WaitForAsync(address, 3)).Single(m => m.Subject!.Contains("rättat"));
        mail.Subject.ShouldBe("Bram har rättat det som rapporterades om ditt affärstips");
        mail.TextBody!.ShouldContain("Skäl: Kunden valde en annan");
        mail.TextBody!.ShouldContain("Utfall: det blev ingen affär den här gången");
    }

    [Fact]
    public async Task A_referral_taken_back_or_passed_on_is_told_to_the_receivers_it_concerns()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram, chi) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram", languages: ["nl"]),
            await scenario.AddMemberAsync("Chi", languages: ["vi"]));
        var bramAddress = await WantsMailAsync(scenario, bram);
        var chiAddress = await WantsMailAsync(scenario, chi);
        var withdrawn = await scenario.GiveAsync(anna, bram);
        var passedOn = await scenario.GiveAsync(anna, bram);
        await Smtp.WaitForAsync(bramAddress, 2);

        (await scenario.ActAsync(anna, withdrawn, "withdraw", new { reason = "Verkeerde Bram" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ActAsync(anna, passedOn, "redirect", new { receiverId = chi })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var bramMails = await Smtp.WaitForAsync(bramAddress, 3);
        var taken = bramMails.Single(m => m.Subject == "Anna heeft een referral ingetrokken");
        taken.TextBody!.ShouldContain("Verkeerde Bram");
        // The new receiver hears of it as of a referral given to them.
        (await Smtp.WaitForAsync(chiAddress)).Single().Subject.ShouldBe("Anna đã trao cho bạn một lời giới thiệu");
    }

    [Fact]
    public async Task When_a_receiver_leaves_the_giver_of_each_referral_still_waiting_hears_what_they_can_do()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna", languages: ["sv"]), await scenario.AddMemberAsync("Bram"));
        var address = await WantsMailAsync(scenario, anna);
        await scenario.GiveAsync(anna, bram); // still waiting for Bram when he leaves
        var accepted = await scenario.GiveAsync(anna, bram);
        (await scenario.ActAsync(bram, accepted, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Smtp.WaitForAsync(address);

        (await scenario.Operator.PostAsync($"/api/chapters/{scenario.ChapterId}/members/{bram}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var mails = await Smtp.WaitForAsync(address, 2);
        var stranded = mails.Single(m => m.Subject!.Contains("har slutat"));
        stranded.Subject.ShouldBe("Bram har slutat: ditt affärstips behöver en ny mottagare");
        stranded.TextBody!.ShouldContain("Ge det till en annan medlem, eller ta tillbaka det.");
        stranded.TextBody!.ShouldContain("https://chapter.example/my");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Smtp.To(address).Count.ShouldBe(2, "only the referral still waiting is told of; leaving again tells nothing");
        (await scenario.Operator.PostAsync($"/api/chapters/{scenario.ChapterId}/members/{bram}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Smtp.To(address).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_server_that_refuses_for_a_while_still_gets_the_message_once_under_one_Message_ID()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var address = await WantsMailAsync(scenario, bram);
        var refusedBefore = Smtp.Refused.Count;
        using var counted = new CountedMeasurements("chapter.mail.failed_attempts");

        Smtp.RefuseNext(3);
        await scenario.GiveAsync(anna, bram);

        var mail = (await Smtp.WaitForAsync(address)).Single();
        var refused = Smtp.Refused.Skip(refusedBefore).ToList();
        refused.Count.ShouldBe(3);
        refused.ShouldAllBe(id => id == mail.MessageId);
        counted["chapter.mail.failed_attempts"].ShouldBeGreaterThanOrEqualTo(3);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Smtp.To(address).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_failed_command_sends_nothing_and_neither_does_a_kind_turned_off()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram, cleo) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"), await scenario.AddMemberAsync("Cleo"));
        var annaAddress = await WantsMailAsync(scenario, anna);
        var bramAddress = await WantsMailAsync(scenario, bram, received: false);
        var cleoAddress = await WantsMailAsync(scenario, cleo);

        var referral = await scenario.GiveAsync(anna, bram); // Bram turned "received" off
        // Cleo is not the receiver: refused, so Anna hears nothing of it.
        (await scenario.ActAsync(cleo, referral, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        // Closing what was never accepted is refused by the decider.
        (await scenario.ActAsync(bram, referral, "close", new { outcome = "lost" })).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        // What does go through is heard: this arrives, so anything sent before it would have too.
        await scenario.GiveAsync(anna, cleo);
        await Smtp.WaitForAsync(cleoAddress);

        await Task.Delay(TimeSpan.FromSeconds(1));
        Smtp.To(annaAddress).ShouldBeEmpty();
        Smtp.To(bramAddress).ShouldBeEmpty();
        Smtp.To(cleoAddress).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_message_its_server_will_never_take_is_dead_lettered_and_shown_to_the_operator()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var address = await WantsMailAsync(scenario, bram);
        Smtp.RejectForGood[address] = true;
        var need = $"Need {Guid.NewGuid():N}";

        (await scenario.As(anna).PostAsJsonAsync(scenario.Referrals, scenario.ReferralBody(anna, bram, need: need))).StatusCode.ShouldBe(HttpStatusCode.Created);

        JsonObject outbox = null!;
        var until = DateTime.UtcNow.AddSeconds(20);
        do
        {
            await Task.Delay(100);
            outbox = await (await scenario.Operator.GetAsync("/api/admin/outbox")).ReadJsonAsync();
        } while (outbox["deadLetters"]!.AsArray().Count == 0 && DateTime.UtcNow < until);
        var dead = outbox["deadLetters"]!.AsArray().Single()!;
        dead["messageType"]!.GetValue<string>().ShouldContain("ReferralNotice");
        dead["error"]!.GetValue<string>().ShouldContain("550");
        dead["error"]!.GetValue<string>().ShouldNotContain(address);
        fixture.Api.Logs.Lines.Where(line => line.Contains(address)).ShouldBeEmpty();
        // The notice Wolverine failed to deliver carries the need; what is logged of it names it by type and id only.
        fixture.Api.Logs.Lines.Where(line => line.Contains(need)).ShouldBeEmpty();
        Smtp.To(address).ShouldBeEmpty();
        (await scenario.As(bram).GetAsync("/api/admin/outbox")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Members_choose_for_themselves_leaders_for_anyone_and_the_link_in_an_e_mail_turns_its_kind_off()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram, lea) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"), await scenario.AddLeaderAsync("Lea"));
        var settings = $"/api/chapters/{scenario.ChapterId}/members/{bram}/notifications";

        var initial = await (await scenario.As(bram).GetAsync(settings)).ReadJsonAsync();
        initial["email"].ShouldBeNull();
        initial["referralReceived"]!.GetValue<bool>().ShouldBeTrue();
        (await scenario.As(anna).GetAsync(settings)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await scenario.As(anna).PutAsJsonAsync(settings, new { email = "x@example.se", referralReceived = true, referralUpdates = true, weeklyDigest = true }))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        await (await scenario.As(bram).PutAsJsonAsync(settings, new { email = "not an address", referralReceived = true }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "email", "referralUpdates", "weeklyDigest");
        var address = $"bram-{Guid.NewGuid():N}@example.se";
        var byLeader = await scenario.As(lea).PutAsJsonAsync(settings, new { email = address, referralReceived = true, referralUpdates = false, weeklyDigest = false });
        (await byLeader.ReadJsonAsync())["email"]!.GetValue<string>().ShouldBe(address);

        await scenario.GiveAsync(anna, bram);
        var turnOff = new Uri((await Smtp.WaitForAsync(address)).Single().Headers["List-Unsubscribe"]!.Trim('<', '>')).PathAndQuery;

        // Opening the link only asks (mail scanners open links); the button, or the mail client's one-click POST, turns it off.
        var page = await fixture.Api.CreateClient().GetAsync(turnOff);
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await (await scenario.As(bram).GetAsync(settings)).ReadJsonAsync())["referralReceived"]!.GetValue<bool>().ShouldBeTrue();
        var oneClick = await fixture.Api.CreateClient().PostAsync(turnOff,
            new FormUrlEncodedContent(new Dictionary<string, string> { ["List-Unsubscribe"] = "One-Click" }));
        oneClick.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await (await scenario.As(bram).GetAsync(settings)).ReadJsonAsync())["referralReceived"]!.GetValue<bool>().ShouldBeFalse();
        (await fixture.Api.CreateClient().PostAsync(turnOff.Replace("/off/", "/off/x"), null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        await scenario.GiveAsync(anna, bram);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Smtp.To(address).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_referral_passed_on_is_introduced_to_the_member_it_is_with_now()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram, chi) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"), await scenario.AddMemberAsync("Chi"));
        var bramAddress = await WantsMailAsync(scenario, bram, received: false, updates: false);
        var chiAddress = await WantsMailAsync(scenario, chi, received: false, updates: false);
        var sara = $"sara-{Guid.NewGuid():N}@example.se";
        var referral = await GiveAsync(scenario, anna, bram, sara);
        (await scenario.ActAsync(anna, referral, "redirect", new { receiverId = chi })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var preview = await (await scenario.As(anna).GetAsync($"{scenario.Referrals}/{referral}/introduction")).ReadJsonAsync();
        (await scenario.As(anna).PostAsJsonAsync($"{scenario.Referrals}/{referral}/introduce", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var mail = (await Smtp.WaitForAsync(sara)).Single();
        mail.To.Mailboxes.Select(m => m.Address).ShouldBe([sara, chiAddress]);
        preview["to"]!.AsArray().Select(n => n!.GetValue<string>()).ShouldBe(["Sara Lind", "Chi"]);
        Smtp.To(bramAddress).ShouldBeEmpty();
    }

    private static async Task<Guid> GiveAsync(Scenario scenario, Guid giver, Guid receiver, string? prospectEmail, string language = "sv")
    {
        var response = await scenario.As(giver).PostAsJsonAsync(scenario.Referrals, new
        {
            receiverId = receiver,
            prospect = new { name = "Sara Lind", email = prospectEmail, phone = "+46 70 123 45 67", consent = true },
            need = "New office lease",
            temperature = "hot",
            language,
        });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await response.ReadJsonAsync())["id"]!.GetValue<Guid>();
    }

    [Fact]
    public async Task The_giver_has_the_prospect_and_the_receiver_introduced_once_in_the_referrals_language_with_the_giver_in_copy()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram", profession: "Estate agent"));
        var (annaAddress, bramAddress) = (await WantsMailAsync(scenario, anna), await WantsMailAsync(scenario, bram, received: false));
        var sara = $"sara-{Guid.NewGuid():N}@example.se";
        var referral = await GiveAsync(scenario, anna, bram, sara);
        var introduce = $"{scenario.Referrals}/{referral}/introduce";

        (await scenario.As(bram).PostAsJsonAsync(introduce, new { })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        // The giver reads it first, exactly as it will go; the receiver may not, and nothing is sent by looking.
        var previewPath = $"{scenario.Referrals}/{referral}/introduction?line={Uri.EscapeDataString("Ni borde verkligen prata!")}";
        var preview = await (await scenario.As(anna).GetAsync(previewPath)).ReadJsonAsync();
        await (await scenario.As(bram).GetAsync(previewPath)).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await (await scenario.As(anna).GetAsync($"{scenario.Referrals}/{referral}/introduction?line={new string('x', 501)}"))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "line");
        var introduced = await (await scenario.As(anna).PostAsJsonAsync(introduce, new { line = "Ni borde verkligen prata!" })).ReadJsonAsync();
        var introducedAt = introduced["introducedAt"]!.GetValue<DateTimeOffset>();

        var mail = (await Smtp.WaitForAsync(sara)).Single();
        preview["subject"]!.GetValue<string>().ShouldBe(mail.Subject);
        preview["text"]!.GetValue<string>().ShouldBe(mail.TextBody);
        preview["language"]!.GetValue<string>().ShouldBe("sv");
        preview["to"]!.AsArray().Select(n => n!.GetValue<string>()).ShouldBe(["Sara Lind", "Bram"]);
        mail.Subject.ShouldBe("Introduktion: Sara Lind och Bram");
        mail.To.Mailboxes.Select(m => m.Address).ShouldBe([sara, bramAddress]);
        mail.Cc.Mailboxes.Select(m => m.Address).ShouldBe([annaAddress]);
        // Replies go to the people, so they write to each other directly, the introducer in copy.
        mail.ReplyTo.Mailboxes.Select(m => m.Address).ShouldBe([sara, bramAddress, annaAddress]);
        mail.TextBody!.ShouldContain("Hej Sara Lind och Bram,");
        mail.TextBody!.ShouldContain("Anna vill att ni lär känna varandra.");
        mail.TextBody!.ShouldContain("Anna: Ni borde verkligen prata!");
        mail.TextBody!.ShouldContain("Sara Lind söker: New office lease");
        mail.TextBody!.ShouldContain("Bram (Estate agent) är medlem i Stockholm City och kan hjälpa till.");
        mail.Headers["List-Unsubscribe"].ShouldBeNull("an introduction is asked for, not subscribed to");

        // At most once: a repeat answers 200 and sends nothing.
        var again = await (await scenario.As(anna).PostAsJsonAsync(introduce, new { line = "Again?" })).ReadJsonAsync();
        again["introducedAt"]!.GetValue<DateTimeOffset>().ShouldBe(introducedAt);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Smtp.To(sara).Count.ShouldBe(1);
        (await scenario.ScalarEventsAsync(referral, "referral.introduced.v1")).ShouldBe(1);
    }

    [Fact]
    public async Task An_introduction_in_a_language_the_service_does_not_write_is_in_English_and_says_so()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        await WantsMailAsync(scenario, bram, received: false);
        var sara = $"sara-{Guid.NewGuid():N}@example.de";
        var referral = await GiveAsync(scenario, anna, bram, sara, language: "de");

        (await scenario.As(anna).PostAsJsonAsync($"{scenario.Referrals}/{referral}/introduce", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var mail = (await Smtp.WaitForAsync(sara)).Single();
        mail.Subject.ShouldBe("Introduction: Sara Lind and Bram");
        mail.TextBody!.ShouldStartWith("Anna asked for this introduction in Deutsch (de). We cannot write that language yet, so this e-mail is in English.");
        mail.Cc.ShouldBeEmpty("Anna gave no address of her own");
    }

    [Fact]
    public async Task No_introduction_without_both_addresses_or_after_the_prospect_was_erased()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var withoutEmail = await GiveAsync(scenario, anna, bram, prospectEmail: null);
        await (await scenario.As(anna).PostAsJsonAsync($"{scenario.Referrals}/{withoutEmail}/introduce", new { }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "prospect.email");

        var sara = $"sara-{Guid.NewGuid():N}@example.se";
        var referral = await GiveAsync(scenario, anna, bram, sara);
        await (await scenario.As(anna).PostAsJsonAsync($"{scenario.Referrals}/{referral}/introduce", new { }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "receiverId");

        await WantsMailAsync(scenario, bram, received: false);
        (await scenario.As(anna).DeleteAsync($"{scenario.Referrals}/{referral}/prospect")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await scenario.As(anna).PostAsJsonAsync($"{scenario.Referrals}/{referral}/introduce", new { }))
            .ShouldBeProblemAsync(HttpStatusCode.Conflict);
        await (await scenario.As(anna).PostAsJsonAsync($"{scenario.Referrals}/{referral}/introduce", new { line = new string('x', 501) }))
            .ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "line");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Smtp.To(sara).ShouldBeEmpty();
    }
}
