using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Chapter.Api.Tests;

/// <summary>
/// Sign-in links by e-mail: a leader sends a member theirs, a member who lost theirs asks with their address, and the link's
/// one-time code is exchanged once for a token. Nothing in an answer says whether an address is known.
/// </summary>
public sealed partial class SignInByEmailApiTests(NotificationApiTests.Fixture fixture) : IClassFixture<NotificationApiTests.Fixture>
{
    private TestSmtpServer Smtp => fixture.Smtp;

    [GeneratedRegex(@"https://chapter\.example/signin#code=([A-Za-z0-9_-]+)")]
    private static partial Regex LinkPattern();

    private static async Task<string> WithAddressAsync(Scenario scenario, Guid member)
    {
        var address = $"m-{Guid.NewGuid():N}@example.se";
        (await scenario.As(member).PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{member}/notifications",
            new { email = address, referralReceived = false, referralUpdates = false, weeklyDigest = false })).StatusCode.ShouldBe(HttpStatusCode.OK);
        return address;
    }

    private async Task<string> CodeMailedToAsync(string address, int count = 1)
    {
        var code = LinkPattern().Match((await Smtp.WaitForAsync(address, count)).Last().TextBody!).Groups[1].Value;
        code.ShouldNotBeNullOrEmpty();
        return code;
    }

    private Task<HttpResponseMessage> ExchangeAsync(string code) =>
        fixture.Api.ClientWith(null).PostAsJsonAsync("/api/signin/exchange", new { code });

    [Fact]
    public async Task A_leader_e_mails_a_member_their_link_in_their_language_and_its_code_signs_in_once()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var lea = await scenario.AddLeaderAsync("Lea");
        var bram = await scenario.AddMemberAsync("Bram Nilsson", languages: ["sv"]);
        var address = await WithAddressAsync(scenario, bram);

        var invited = await scenario.As(lea).PostAsync($"/api/chapters/{scenario.ChapterId}/members/{bram}/invite", null);

        invited.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var mail = (await Smtp.WaitForAsync(address)).Single();
        mail.Subject.ShouldBe("Din inloggningslänk till Stockholm City");
        mail.TextBody!.ShouldStartWith("Hej Bram,");
        mail.TextBody!.ShouldContain("inom 7 dagar");
        var code = await CodeMailedToAsync(address);
        // Only the code's hash is kept.
        (await fixture.Api.ScalarAsync("SELECT count(*) FROM sign_in_codes WHERE code_hash = sha256(convert_to($1, 'UTF8'))", code)).ShouldBe(1);
        (await fixture.Api.ScalarTextAsync("SELECT count(*)::text FROM mt_events WHERE data::text LIKE '%' || $1 || '%'", code)).ShouldBe("0");

        var exchanged = await ExchangeAsync(code);
        exchanged.StatusCode.ShouldBe(HttpStatusCode.OK);
        var signedIn = await exchanged.ReadJsonAsync();
        signedIn["memberId"]!.GetValue<Guid>().ShouldBe(bram);
        signedIn["chapterId"]!.GetValue<string>().ShouldBe(scenario.ChapterId);
        var me = await (await fixture.Api.ClientWith(signedIn["token"]!.GetValue<string>()).GetAsync("/api/me")).ReadJsonAsync();
        me["memberId"]!.GetValue<Guid>().ShouldBe(bram);

        await (await ExchangeAsync(code)).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "code");
        fixture.Api.Logs.Lines.ShouldNotContain(line => line.Contains(code) || line.Contains(address));

        // A code signs in to its own chapter only: the token it gives knows no other.
        var elsewhere = await new Scenario(fixture.Api).WithChapterAsync();
        var token = fixture.Api.ClientWith(signedIn["token"]!.GetValue<string>());
        await (await token.GetAsync($"/api/chapters/{elsewhere.ChapterId}/members")).ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await token.GetAsync($"/api/chapters/{scenario.ChapterId}/members")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_invitation_needs_an_address_and_a_member_still_in_the_chapter()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var lea = await scenario.AddLeaderAsync("Lea");
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var c = $"/api/chapters/{scenario.ChapterId}";

        await (await scenario.As(lea).PostAsync($"{c}/members/{anna}/invite", null)).ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "email");
        await WithAddressAsync(scenario, bram);
        (await scenario.Operator.PostAsync($"{c}/members/{bram}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await scenario.As(lea).PostAsync($"{c}/members/{bram}/invite", null)).ShouldBeProblemNamingAsync(HttpStatusCode.UnprocessableEntity, "memberId");
        await (await scenario.As(lea).PostAsync($"{c}/members/{Guid.NewGuid()}/invite", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_member_who_lost_their_link_asks_with_their_address_and_an_unknown_address_gets_the_same_answer()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var chi = await scenario.AddMemberAsync("Nguyễn Thị Chi", languages: ["vi"]);
        var address = await WithAddressAsync(scenario, chi);
        var anonymous = fixture.Api.ClientWith(null);

        var known = await anonymous.PostAsJsonAsync("/api/signin/email", new { email = address.ToUpperInvariant() });
        var unknown = await anonymous.PostAsJsonAsync("/api/signin/email", new { email = $"nobody-{Guid.NewGuid():N}@example.se" });

        known.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        unknown.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await known.Content.ReadAsStringAsync()).ShouldBe(await unknown.Content.ReadAsStringAsync());
        var mail = (await Smtp.WaitForAsync(address)).Single();
        mail.Subject.ShouldBe("Liên kết đăng nhập Stockholm City của bạn");
        mail.TextBody!.ShouldStartWith("Xin chào Chi,");
        mail.TextBody!.ShouldContain("trong 15 phút");
        (await ExchangeAsync(await CodeMailedToAsync(address))).StatusCode.ShouldBe(HttpStatusCode.OK);

        await (await anonymous.PostAsJsonAsync("/api/signin/email", new { email = "not an address" })).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "email");
        // A few links an hour per member, however often someone asks: the answer stays the same.
        for (var i = 0; i < 4; i++)
            (await anonymous.PostAsJsonAsync("/api/signin/email", new { email = address })).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await Smtp.WaitForAsync(address, 3);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Smtp.To(address).Count.ShouldBe(3, "the first link and two more: three an hour");
    }

    [Fact]
    public async Task An_expired_code_a_used_one_and_one_of_a_member_who_left_do_not_sign_in()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var lea = await scenario.AddLeaderAsync("Lea");
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var (annaAddress, bramAddress) = (await WithAddressAsync(scenario, anna), await WithAddressAsync(scenario, bram));
        var c = $"/api/chapters/{scenario.ChapterId}";
        await scenario.As(lea).PostAsync($"{c}/members/{anna}/invite", null);
        await scenario.As(lea).PostAsync($"{c}/members/{bram}/invite", null);
        var (annaCode, bramCode) = (await CodeMailedToAsync(annaAddress), await CodeMailedToAsync(bramAddress));

        await fixture.Api.ScalarAsync(
            "WITH expired AS (UPDATE sign_in_codes SET expires_at = now() - interval '1 second' WHERE member_id = $1 RETURNING 1) SELECT count(*) FROM expired", anna);
        await (await ExchangeAsync(annaCode)).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "code");
        (await scenario.Operator.PostAsync($"{c}/members/{bram}/leave", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await ExchangeAsync(bramCode)).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "code");
        await (await ExchangeAsync("made-up")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "code");
        await (await ExchangeAsync("")).ShouldBeProblemNamingAsync(HttpStatusCode.BadRequest, "code");
    }
}

/// <summary>A client that asks for sign-in links too often is slowed down, with Retry-After.</summary>
public sealed class SignInRateLimitApiTests(SignInRateLimitApiTests.Fixture fixture) : IClassFixture<SignInRateLimitApiTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public ApiFixture Api { get; } = new();

        public Task InitializeAsync()
        {
            Api.Settings["Chapter:RateLimit:SignInRequestsPerHour"] = "5";
            return Api.InitializeAsync();
        }

        public Task DisposeAsync() => ((IAsyncLifetime)Api).DisposeAsync();
    }

    [Fact]
    public async Task The_sixth_request_within_the_hour_is_429_with_retry_after()
    {
        var anonymous = fixture.Api.ClientWith(null);
        for (var i = 0; i < 5; i++)
            (await anonymous.PostAsJsonAsync("/api/signin/email", new { email = $"a{i}@example.se" })).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        var refused = await anonymous.PostAsJsonAsync("/api/signin/exchange", new { code = "x" });

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests);
        problem["title"]!.GetValue<string>().ShouldBe("Too many sign-in requests.");
        refused.Headers.RetryAfter.ShouldNotBeNull();
    }
}
