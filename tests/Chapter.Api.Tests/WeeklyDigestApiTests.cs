using System.Net;
using System.Net.Http.Json;
using Chapter.Api.Notifications;
using Chapter.Projections.Reciprocity;
using Microsoft.Extensions.DependencyInjection;

namespace Chapter.Api.Tests;

/// <summary>When a chapter's week closes in its time zone, each leader who wants it gets the week's figures, once.</summary>
public sealed class WeeklyDigestApiTests(WeeklyDigestApiTests.Fixture fixture) : IClassFixture<WeeklyDigestApiTests.Fixture>
{
    /// <summary>The service's clock, moved on by the test: a week closes without waiting for it.</summary>
    public sealed class MovableTime : TimeProvider
    {
        public TimeSpan Ahead { get; set; }
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Ahead;
    }

    public sealed class Fixture : IAsyncLifetime
    {
        public TestSmtpServer Smtp { get; } = new();
        public MovableTime Clock { get; } = new();
        public ApiFixture Api { get; }

        public Fixture() => Api = new ApiFixture { ExtraServices = services => services.AddSingleton<TimeProvider>(Clock) };

        public Task InitializeAsync()
        {
            Api.Settings["Chapter:Smtp:Host"] = "127.0.0.1";
            Api.Settings["Chapter:Smtp:Port"] = Smtp.Port.ToString();
            Api.Settings["Chapter:Smtp:UseTls"] = "false";
            Api.Settings["Chapter:PublicUrl"] = "https://chapter.example";
            Api.Settings["Chapter:Notifications:DigestCheckEvery"] = "00:00:00.200";
            return Api.InitializeAsync();
        }

        public async Task DisposeAsync()
        {
            await ((IAsyncLifetime)Api).DisposeAsync();
            await Smtp.DisposeAsync();
        }
    }

    private TestSmtpServer Smtp => fixture.Smtp;

    private static async Task<string> WantsAsync(Scenario scenario, Guid member, bool digest)
    {
        var address = $"m-{Guid.NewGuid():N}@example.se";
        (await scenario.As(member).PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{member}/notifications",
            new { email = address, referralReceived = false, referralUpdates = false, weeklyDigest = digest })).StatusCode.ShouldBe(HttpStatusCode.OK);
        return address;
    }

    [Fact]
    public async Task Each_leader_who_wants_it_gets_the_closed_weeks_figures_in_their_language_once()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (lea, leo) = (await scenario.AddLeaderAsync("Lea"), await scenario.AddLeaderAsync("Leo"));
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram"));
        var (leaAddress, leoAddress, annaAddress) = (await WantsAsync(scenario, lea, digest: true), await WantsAsync(scenario, leo, digest: false),
            await WantsAsync(scenario, anna, digest: true));
        var referral = await scenario.GiveAsync(anna, bram);
        (await scenario.ActAsync(bram, referral, "accept", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await scenario.ActAsync(bram, referral, "close", new { outcome = "won", value = new { amount = 500, currency = "SEK" } })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await fixture.Api.WaitForProjectionsAsync();
        await Task.Delay(TimeSpan.FromSeconds(0.5));
        Smtp.To(leaAddress).ShouldBeEmpty("the week has not closed yet");

        // An hour into next Monday in Stockholm: this week has closed.
        var stockholm = TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm");
        var (_, thisWeekEnds) = WeeklyDigestSchedule.LastClosedWeek(stockholm, DateTimeOffset.UtcNow.AddDays(7));
        var (monday, _) = WeeklyDigestSchedule.LastClosedWeek(stockholm, thisWeekEnds.AddHours(1));
        fixture.Clock.Ahead = thisWeekEnds.AddHours(1) - DateTimeOffset.UtcNow;
        var week = MemberViews.IsoWeekName(monday);

        var until = DateTime.UtcNow.AddSeconds(20);
        while (Smtp.To(leaAddress).Count == 0 && DateTime.UtcNow < until)
            await Task.Delay(50);
        Smtp.To(leaAddress).ShouldNotBeEmpty(string.Join("\n", fixture.Api.Logs.Lines.Where(l => l.Contains("igest") || l.Contains("Exception") || l.Contains("fail"))));
        var digest = Smtp.To(leaAddress).Single();
        digest.Subject.ShouldBe($"Stockholm City: vecka {week}");
        digest.TextBody!.ShouldContain($"Vecka {week} i Stockholm City är slut.");
        digest.TextBody!.ShouldContain("Givna affärstips: 1");
        digest.TextBody!.ShouldContain("Accepterade: 1");
        digest.TextBody!.ShouldContain("Avslutade med affär: 1");
        digest.TextBody!.ShouldContain("Värde: 500 SEK");
        digest.TextBody!.ShouldContain($"https://chapter.example/chapters/{scenario.ChapterId}/reports/weekly/{week}");
        digest.Headers["List-Unsubscribe"]!.ShouldEndWith("/weekly-digest>");

        // However often every node looks, the week's digest went out once; Leo turned it off, and Anna leads nothing.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Smtp.To(leaAddress).Count.ShouldBe(1);
        Smtp.To(leoAddress).ShouldBeEmpty();
        Smtp.To(annaAddress).ShouldBeEmpty();
        (await fixture.Api.ScalarAsync("SELECT count(*) FROM weekly_digests WHERE chapter_id = $1", scenario.ChapterId)).ShouldBe(1);
    }

    [Fact]
    public void The_week_closes_at_midnight_between_Sunday_and_Monday_in_the_chapters_time_zone()
    {
        var stockholm = TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm");
        // Monday 2026-11-30 00:30 in Stockholm is Sunday 23:30 UTC: the week 2026-W48 has closed there.
        var (monday, end) = WeeklyDigestSchedule.LastClosedWeek(stockholm, new DateTimeOffset(2026, 11, 29, 23, 30, 0, TimeSpan.Zero));
        monday.ShouldBe(new DateOnly(2026, 11, 23));
        end.ShouldBe(new DateTimeOffset(2026, 11, 29, 23, 0, 0, TimeSpan.Zero));
        // Half an hour earlier it is still Sunday there, and the last closed week is the one before.
        WeeklyDigestSchedule.LastClosedWeek(stockholm, new DateTimeOffset(2026, 11, 29, 22, 30, 0, TimeSpan.Zero)).Monday.ShouldBe(new DateOnly(2026, 11, 16));
    }
}
