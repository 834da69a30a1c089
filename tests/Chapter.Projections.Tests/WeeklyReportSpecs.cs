using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Activity;
using Chapter.Projections.Reciprocity;
using static Chapter.Projections.Tests.Given;

namespace Chapter.Projections.Tests;

public sealed class WeeklyReportSpecs
{
    private static readonly DateOnly Week38 = new(2026, 9, 14); // 2026-W38

    private static ReferralFact At(string edge, string utc, Func<ReferralFact, ReferralFact>? then = null)
    {
        var fact = new ReferralFact(Guid.NewGuid(), Id(edge[0]), Id(edge[^1]), DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture),
            null, null, null, null, null, null);
        return then is null ? fact : then(fact);
    }

    [Theory]
    [InlineData("2026-W38", "2026-09-14")]
    [InlineData("2026-W01", "2025-12-29")]
    [InlineData("2026-W53", "2026-12-28")]
    public void Iso_weeks_are_parsed_to_their_monday(string week, string monday) =>
        WeeklyReport.ParseIsoWeek(week).ShouldBe(DateOnly.Parse(monday, System.Globalization.CultureInfo.InvariantCulture));

    [Theory]
    [InlineData("2026-W54")]
    [InlineData("2025-W53")]
    [InlineData("2026-W00")]
    [InlineData("2026-47")]
    [InlineData("last week")]
    public void Other_strings_are_no_iso_week(string week) => WeeklyReport.ParseIsoWeek(week).ShouldBeNull();

    [Fact]
    public void The_week_is_taken_in_the_chapters_time_zone_far_from_utc()
    {
        // Auckland (NZST, +12): W38 runs from Sun 13 Sep 12:00 UTC to Sun 20 Sep 12:00 UTC.
        var facts = AChapter("AB", "Pacific/Auckland").Facts() with
        {
            Referrals =
            [
                At("A→B", "2026-09-13T11:59:00Z"), // Sunday 23:59 local: the week before
                At("A→B", "2026-09-13T12:00:00Z"), // Monday 00:00 local: in
                At("A→B", "2026-09-20T11:59:00Z"), // Sunday 23:59 local: in
                At("B→A", "2026-09-20T12:00:00Z"), // the week after
            ],
        };

        var report = WeeklyReport.Compute(facts, Week38);

        report.Week.ShouldBe("2026-W38");
        report.From.ShouldBe(DateTimeOffset.Parse("2026-09-13T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        report.Counts.Given.ShouldBe(2);
    }

    [Fact]
    public void A_week_across_a_daylight_saving_change_is_168_plus_one_hours_long()
    {
        // Los Angeles leaves PDT (-7) for PST (-8) on Sunday 1 Nov 2026: W44 is Mon 26 Oct 07:00 UTC to Mon 2 Nov 08:00 UTC.
        var facts = AChapter("AB", "America/Los_Angeles").Facts() with
        {
            Referrals = [At("A→B", "2026-11-02T07:30:00Z"), At("A→B", "2026-10-26T06:59:00Z")],
        };

        var report = WeeklyReport.Compute(facts, new DateOnly(2026, 10, 26));

        (report.To - report.From).ShouldBe(TimeSpan.FromHours(169));
        report.Counts.Given.ShouldBe(1, "Sunday 23:30 PST is still in the week; Sunday 23:59 PDT of the week before is not");
    }

    [Fact]
    public void The_weeks_steps_and_value_are_counted_when_they_happened()
    {
        var monday = new DateTimeOffset(2026, 9, 14, 8, 0, 0, TimeSpan.FromHours(2));
        var facts = AChapter("ABC").Facts() with
        {
            Referrals =
            [
                new(Guid.NewGuid(), Id('A'), Id('B'), monday.AddDays(-10), monday.AddDays(-9), null, monday.AddDays(1), Outcome.Won, new Money(900m, "SEK"), monday.AddDays(2)),
                new(Guid.NewGuid(), Id('B'), Id('C'), monday, monday.AddHours(3), null, monday.AddDays(4), Outcome.Lost, null, null),
                new(Guid.NewGuid(), Id('C'), Id('A'), monday.AddDays(1), null, monday.AddDays(2), null, null, null, null),
            ],
            OneToOnes = [new(Guid.NewGuid(), Id('A'), Id('C'), new DateOnly(2026, 9, 16)), new(Guid.NewGuid(), Id('A'), Id('B'), new DateOnly(2026, 9, 1))],
        };

        var report = WeeklyReport.Compute(facts, Week38);

        // New ties: B–C and A–C first met this week (A–B had met ten days before).
        report.Counts.ShouldBe(new WeekCounts(Given: 2, Accepted: 1, Declined: 1, ClosedWon: 1, ClosedLost: 1, Thanked: 1, OneToOnes: 1, NewTies: 2));
        report.ClosedValue.ShouldBe([new Money(900m, "SEK")]);
        report.Circulation.TwelveWeeks.To.ShouldBe(report.To);
        report.Circulation.FourWeeksBefore.To.ShouldBe(report.From);
        report.Circulation.FourWeeksBefore.From.ShouldBe(report.From.AddDays(-28));
    }

    [Fact]
    public void Nudges_name_who_waits_who_can_thank_and_whom_to_invite_as_of_the_weeks_end()
    {
        var end = new DateTimeOffset(2026, 9, 21, 0, 0, 0, TimeSpan.FromHours(2));
        var waiting = new ReferralFact(Guid.NewGuid(), Id('A'), Id('B'), end.AddHours(-73), null, null, null, null, null, null);
        var fresh = new ReferralFact(Guid.NewGuid(), Id('A'), Id('B'), end.AddHours(-71), null, null, null, null, null, null);
        var acceptedLate = new ReferralFact(Guid.NewGuid(), Id('A'), Id('C'), end.AddDays(-5), end.AddHours(1), null, null, null, null, null);
        var unthanked = new ReferralFact(Guid.NewGuid(), Id('C'), Id('A'), end.AddDays(-30), end.AddDays(-29), null, end.AddDays(-8), Outcome.Won, new Money(5m, "SEK"), null);
        var thanked = new ReferralFact(Guid.NewGuid(), Id('C'), Id('B'), end.AddDays(-30), end.AddDays(-29), null, end.AddDays(-8), Outcome.Won, new Money(5m, "SEK"), end.AddDays(-1));
        var facts = AChapter("ABCD").Left('D', 0).Facts() with { Referrals = [waiting, fresh, acceptedLate, unthanked, thanked] };
        facts = facts with { Members = [.. facts.Members, new MemberFact(Id('E'), "E", end.AddDays(-400), null)] };

        var nudges = WeeklyReport.Compute(facts, Week38).Nudges;

        nudges.WaitingForAcceptance.Select(w => w.ReferralId).ShouldBe([acceptedLate.Id, waiting.Id], "oldest first");
        nudges.WaitingForAcceptance[1].HoursWaiting.ShouldBe(73);
        nudges.WonNotThanked.Single().ReferralId.ShouldBe(unthanked.Id);
        nudges.WonNotThanked.Single().DaysSinceClosed.ShouldBe(8);
        nudges.NotReferredLately.Select(i => i.Name).ShouldBe(["E"]);
        nudges.NotReferredLately.Single().Invitation.ShouldContain("one-to-one");
    }
}
