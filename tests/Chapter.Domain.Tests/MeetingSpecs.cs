using Chapter.Domain.Meetings;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;

namespace Chapter.Domain.Tests;

public sealed class MeetingSpecs
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 17, 6, 45, 0, TimeSpan.Zero);
    private static readonly DateOnly Tuesday = new(2026, 11, 17);
    private static readonly Guid Id = MeetingDecider.IdFor("stockholm-city", Tuesday);
    private static readonly MemberStanding Anna = new(Guid.Parse("00000000-0000-0000-0000-00000000000a"), "stockholm-city", true);
    private static readonly MemberStanding Left = new(Guid.Parse("00000000-0000-0000-0000-00000000000d"), "stockholm-city", false);
    private static readonly MemberStanding Elsewhere = new(Guid.Parse("00000000-0000-0000-0000-00000000000e"), "gothenburg", true);
    private const string SealedName = "c2VhbGVkIG5hbWU=";

    private static readonly MeetingOpened Opened = new(Id, "stockholm-city", Tuesday, T0);
    private static readonly AttendanceMarked AnnaPresent = new(Id, Anna.MemberId, Attendance.Present, null, null, false, T0.AddMinutes(5));
    private static readonly MeetingClosed Closed = new(Id, T0.AddHours(2));

    private static MarkAttendance Mark(Attendance status, MemberStanding? member = null, string? substitute = null, string? profession = null) =>
        new(Id, member ?? Anna, status, substitute, profession, T0.AddMinutes(10));

    private static void Spec(MeetingEvent[] given, MeetingCommand when, params MeetingEvent[] then) =>
        MeetingDecider.Decide(when, given.Aggregate(Meeting.Initial, Meeting.Evolve)).ShouldBe(then);

    private static TError SpecThrows<TError>(MeetingEvent[] given, MeetingCommand when) where TError : Exception =>
        Should.Throw<TError>(() => MeetingDecider.Decide(when, given.Aggregate(Meeting.Initial, Meeting.Evolve)));

    [Fact]
    public void A_leader_opens_the_days_meeting() => Spec([], new OpenMeeting(Id, "stockholm-city", Tuesday, Tuesday, T0), Opened);

    [Fact]
    public void The_same_chapter_and_day_always_name_the_same_meeting()
    {
        MeetingDecider.IdFor("stockholm-city", Tuesday).ShouldBe(Id);
        MeetingDecider.IdFor("stockholm-city", Tuesday.AddDays(7)).ShouldNotBe(Id);
        MeetingDecider.IdFor("gothenburg", Tuesday).ShouldNotBe(Id);
    }

    [Fact]
    public void A_second_meeting_on_the_same_day_is_a_conflict() =>
        SpecThrows<StateConflict>([Opened], new OpenMeeting(Id, "stockholm-city", Tuesday, Tuesday, T0.AddMinutes(1)));

    [Fact]
    public void A_meeting_is_not_opened_weeks_ahead() =>
        SpecThrows<RuleBroken>([], new OpenMeeting(Id, "stockholm-city", Tuesday.AddDays(8), Tuesday, T0)).Field.ShouldBe("date");

    [Fact]
    public void A_member_is_marked_present() =>
        Spec([Opened], Mark(Attendance.Present), AnnaPresent with { MarkedAt = T0.AddMinutes(10) });

    [Fact]
    public void The_same_mark_again_changes_nothing() => Spec([Opened, AnnaPresent], Mark(Attendance.Present));

    [Fact]
    public void Another_mark_is_recorded_as_a_correction() =>
        Spec([Opened, AnnaPresent], Mark(Attendance.Late), new AttendanceMarked(Id, Anna.MemberId, Attendance.Late, null, null, true, T0.AddMinutes(10)));

    [Fact]
    public void A_substitute_is_named_and_only_a_substitute()
    {
        Spec([Opened], Mark(Attendance.Substitute, substitute: SealedName, profession: "Baker"),
            new AttendanceMarked(Id, Anna.MemberId, Attendance.Substitute, SealedName, "Baker", false, T0.AddMinutes(10)));
        SpecThrows<RuleBroken>([Opened], Mark(Attendance.Substitute)).Field.ShouldBe("substitute.name");
        SpecThrows<RuleBroken>([Opened], Mark(Attendance.Present, substitute: SealedName)).Field.ShouldBe("substitute");
    }

    [Fact]
    public void Only_active_members_of_the_chapter_are_marked()
    {
        SpecThrows<RuleBroken>([Opened], Mark(Attendance.Present, Left)).Field.ShouldBe("memberId");
        SpecThrows<RuleBroken>([Opened], Mark(Attendance.Present, Elsewhere)).Field.ShouldBe("memberId");
    }

    [Fact]
    public void A_closed_meeting_stays_as_it_is()
    {
        SpecThrows<StateConflict>([Opened, AnnaPresent, Closed], Mark(Attendance.Late));
        Spec([Opened, AnnaPresent, Closed], new CloseMeeting(Id, T0.AddHours(3)));
    }

    [Fact]
    public void A_meeting_never_opened_is_not_found()
    {
        SpecThrows<NotFound>([], Mark(Attendance.Present));
        SpecThrows<NotFound>([], new CloseMeeting(Id, T0));
    }
}
