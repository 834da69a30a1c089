using Chapter.Projections.Reciprocity;
using static Chapter.Projections.Tests.Given;

namespace Chapter.Projections.Tests;

/// <summary>The weekly report's attendance: the week's marks, the share attended over 12 and 4 weeks, and whom to check in with.</summary>
public sealed class WeeklyAttendanceSpecs
{
    private static readonly DateOnly Week38 = new(2026, 9, 14); // 2026-W38, a Monday
    private static readonly DateOnly Tuesday = Week38.AddDays(1);

    [Fact]
    public void The_weeks_marks_are_counted_and_the_shares_say_how_many_seats_were_filled()
    {
        var given = AChapter("ABCDE")
            .Meeting(Tuesday, "A:present B:late C:medical D:substitute E:absent")
            .Meeting(Tuesday.AddDays(-7), "A:present B:absent C:present D:present E:absent")
            .Meeting(Tuesday.AddDays(-70), "A:absent B:absent");

        var attendance = WeeklyReport.Compute(given.Facts(), Week38).Attendance;

        attendance.ShouldBe(new WeeklyAttendance(Meetings: 1, Present: 1, Late: 1, Medical: 1, Substitute: 1, Absent: 1,
            // 12 weeks: 6 of 12 marks attended; the 4 weeks before this one: 3 of 5.
            ShareLast12Weeks: 0.5, ShareFourWeeksBefore: 0.6));
    }

    [Fact]
    public void A_week_without_meetings_has_no_shares_to_speak_of()
    {
        var attendance = WeeklyReport.Compute(AChapter("AB").Facts(), Week38).Attendance;
        attendance.Meetings.ShouldBe(0);
        attendance.ShareLast12Weeks.ShouldBeNull();
        attendance.ShareFourWeeksBefore.ShouldBeNull();
    }

    [Fact]
    public void Members_absent_at_the_last_two_meetings_are_someone_to_check_in_with_not_a_warning()
    {
        var given = AChapter("ABC")
            .Meeting(Tuesday, "A:absent B:absent C:present")
            .Meeting(Tuesday.AddDays(-7), "A:absent B:medical C:absent")
            .Meeting(Tuesday.AddDays(7), "C:absent"); // after the week: not yet

        var checkIns = WeeklyReport.Compute(given.Facts(), Week38).Nudges.CheckInWith;

        checkIns.Select(c => c.Name).ShouldBe(["A"], "B was ill once, C came this week");
        checkIns[0].Invitation.ShouldStartWith("Check in with A");
        checkIns[0].Invitation.ShouldNotContain("warning", Case.Insensitive);
    }

    [Fact]
    public void A_member_who_left_is_not_checked_in_with()
    {
        var given = AChapter("AB").Meeting(Tuesday, "A:absent").Meeting(Tuesday.AddDays(-7), "A:absent").Left('A', 5);
        WeeklyReport.Compute(given.Facts(), Week38).Nudges.CheckInWith.ShouldBeEmpty();
    }

    [Fact]
    public void The_weeks_visitors_are_listed_and_those_not_followed_up_within_a_week_are_a_nudge()
    {
        // Day0 is Monday 2026-09-07; week 38 runs 14–21 September (local time).
        var given = AChapter("AB")
            .Visitor('A', 8)                            // came in week 38, not followed up yet: too soon to nudge
            .Visitor('B', 2, followedUpAfterDays: 1)    // came the week before, thanked the next day
            .Visitor('A', 1);                           // came two weeks before, never followed up

        var visitors = WeeklyReport.Compute(given.Facts(), Week38).Visitors;

        visitors.ThisWeek.Select(v => v.InvitedByName).ShouldBe(["A"]);
        visitors.ThisWeek.ShouldAllBe(v => v.Name == null, "names are added for leaders only, by the read");
        var waiting = visitors.NotFollowedUp.ShouldHaveSingleItem();
        waiting.InvitedByName.ShouldBe("A");
        waiting.DaysWaiting.ShouldBe(12); // 8 September 08:00 UTC to Monday 21 September 00:00 in Stockholm: 12 whole days
    }
}
