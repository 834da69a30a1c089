using Chapter.Domain.Shared;
using Chapter.Projections.Reciprocity;
using static Chapter.Projections.Tests.Given;

namespace Chapter.Projections.Tests;

public sealed class MemberViewSpecs
{
    [Fact]
    public void Ties_are_undirected_and_count_referrals_thanks_and_one_to_ones()
    {
        var facts = AChapter("ABC")
            .Referral("A→B", 1)
            .Referral("B→A", 3, then: r => r with { AcceptedAt = r.GivenAt, ThankedAt = r.GivenAt.AddDays(1) })
            .OneToOne("A–C", new DateOnly(2026, 9, 10))
            .Facts();

        var ties = MemberViews.Relationships(facts, Id('A'), Day0.AddDays(10));

        ties.Select(t => (t.Name, t.Interactions)).ShouldBe([("B", 3), ("C", 1)]);
        ties[0].FirstInteractionAt.ShouldBe(Day0.AddDays(1));
        ties[0].LastInteractionAt.ShouldBe(Day0.AddDays(4));
    }

    [Fact]
    public void A_tie_halves_in_strength_every_half_life()
    {
        var facts = AChapter("AB").Referral("A→B", 0).Facts(halfLifeDays: 90);

        MemberViews.Relationships(facts, Id('A'), Day0).Single().Strength.ShouldBe(1);
        MemberViews.Relationships(facts, Id('A'), Day0.AddDays(90)).Single().Strength.ShouldBe(0.5);
        MemberViews.Relationships(facts, Id('B'), Day0.AddDays(180)).Single().Strength.ShouldBe(0.25);
        MemberViews.Relationships(AChapter("AB").Referral("A→B", 0).Facts(halfLifeDays: 30), Id('A'), Day0.AddDays(90)).Single().Strength.ShouldBe(0.125);
    }

    [Fact]
    public void Interactions_after_the_moment_asked_about_are_not_counted()
    {
        var facts = AChapter("AB").Referral("A→B", 5).Facts();
        MemberViews.Relationships(facts, Id('A'), Day0.AddDays(1)).ShouldBeEmpty();
    }

    [Fact]
    public void The_giving_profile_counts_who_was_helped_and_by_whom_in_the_window()
    {
        var facts = AChapter("ABC")
            .Referral("A→B", 1).Referral("A→B", 2).Referral("A→C", 3).Referral("C→A", 4)
            .WonAndThanked("A→C", 5, 300m, "SEK", thankedAfterDays: 1)
            .Referral("A→B", -30)
            .Facts();

        var profile = MemberViews.Giving(facts, Id('A'), Day0, Day0.AddDays(84));

        profile.Given.ShouldBe(4);
        profile.DistinctPeopleHelped.ShouldBe(2);
        profile.Received.ShouldBe(1);
        profile.DistinctHelpers.ShouldBe(1);
        profile.ClosedWonValue.ShouldBe([new Money(300m, "SEK")]);
        profile.ThanksReceived.ShouldBe(1);
        profile.ThanksGiven.ShouldBe(0);
    }

    [Fact]
    public void A_giving_streak_counts_consecutive_weeks_with_a_referral_given()
    {
        // Weeks of Day0 (Mon 7 Sep), +1 and +2 have referrals; +3 none yet when asked on its Wednesday.
        var facts = AChapter("AB").Referral("A→B", 0).Referral("A→B", 8).Referral("A→B", 20).Referral("A→B", -14).Facts();

        MemberViews.GivingStreakWeeks(facts, Id('A'), Day0.AddDays(23)).ShouldBe(3);
        MemberViews.GivingStreakWeeks(facts, Id('A'), Day0.AddDays(20).AddHours(1)).ShouldBe(3);
        MemberViews.GivingStreakWeeks(facts, Id('A'), Day0.AddDays(30)).ShouldBe(0);
    }

    [Theory]
    // 12:30 UTC on Sunday 13 Sep is 00:30 on Monday 14 Sep in Auckland (NZST, +12): the next week there.
    [InlineData("Pacific/Auckland", "2026-09-13T12:30:00Z", "2026-09-14")]
    [InlineData("Pacific/Auckland", "2026-09-13T11:30:00Z", "2026-09-07")]
    // Auckland moves to NZDT (+13) at 02:00 on Sunday 27 Sep: Monday 28 Sep begins at 11:00 UTC on the 27th.
    [InlineData("Pacific/Auckland", "2026-09-27T11:00:00Z", "2026-09-28")]
    [InlineData("Pacific/Auckland", "2026-09-27T10:59:00Z", "2026-09-21")]
    // 06:30 UTC on Monday 14 Sep is 23:30 on Sunday 13 Sep in Los Angeles (PDT, -7): still the week before.
    [InlineData("America/Los_Angeles", "2026-09-14T06:30:00Z", "2026-09-07")]
    // Los Angeles returns to PST (-8) on Sunday 1 Nov: Monday 2 Nov begins at 08:00 UTC, not 07:00.
    [InlineData("America/Los_Angeles", "2026-11-02T07:30:00Z", "2026-10-26")]
    [InlineData("America/Los_Angeles", "2026-11-02T08:00:00Z", "2026-11-02")]
    public void Weeks_are_taken_in_the_chapters_time_zone_across_daylight_saving_changes(string timeZone, string utc, string expectedWeekStart)
    {
        var facts = AChapter("AB", timeZone).Facts();
        var moment = DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture);

        MemberViews.WeekStart(facts.DateOf(moment)).ShouldBe(DateOnly.Parse(expectedWeekStart, System.Globalization.CultureInfo.InvariantCulture));
        facts.StartOf(DateOnly.Parse(expectedWeekStart, System.Globalization.CultureInfo.InvariantCulture)).ShouldBeLessThanOrEqualTo(moment);
    }

    [Fact]
    public void A_giving_streak_follows_the_chapters_weeks_not_utc_weeks()
    {
        // A referral on Monday 7 Sep, and one at 12:30 UTC on Sunday 13 Sep: Monday 14 Sep in Auckland.
        var facts = AChapter("AB", "Pacific/Auckland").Facts() with
        {
            Referrals =
            [
                new(Guid.NewGuid(), Id('A'), Id('B'), new DateTimeOffset(2026, 9, 6, 22, 0, 0, TimeSpan.Zero), null, null, null, null, null, null),
                new(Guid.NewGuid(), Id('A'), Id('B'), new DateTimeOffset(2026, 9, 13, 12, 30, 0, TimeSpan.Zero), null, null, null, null, null, null),
            ],
        };

        MemberViews.GivingStreakWeeks(facts, Id('A'), new DateTimeOffset(2026, 9, 15, 0, 0, 0, TimeSpan.Zero)).ShouldBe(2);
    }
}
