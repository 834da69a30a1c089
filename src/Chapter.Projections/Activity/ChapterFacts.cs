using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;

namespace Chapter.Projections.Activity;

public sealed record MemberFact(Guid Id, string Name, DateTimeOffset JoinedAt, DateTimeOffset? LeftAt)
{
    /// <summary>Active at a moment: joined by then and not left by then.</summary>
    public bool ActiveAt(DateTimeOffset moment) => JoinedAt <= moment && (LeftAt is null || LeftAt > moment);
}

public sealed record ReferralFact(
    Guid Id, Guid GiverId, Guid ReceiverId, DateTimeOffset GivenAt,
    DateTimeOffset? AcceptedAt, DateTimeOffset? DeclinedAt, DateTimeOffset? ClosedAt, Outcome? Outcome, Money? Value, DateTimeOffset? ThankedAt)
{
    public bool WonBy(DateTimeOffset moment) => Outcome == Domain.Referrals.Outcome.Won && ClosedAt <= moment;
}

public sealed record OneToOneFact(Guid Id, Guid MemberA, Guid MemberB, DateOnly HeldOn);

/// <summary>A visitor as the weekly report needs them: no name, no contacts (those stay sealed behind their own read).</summary>
public sealed record VisitorFact(Guid Id, string Profession, Guid InvitedBy, DateTimeOffset RegisteredAt, DateTimeOffset? FirstFollowUpAt);

/// <summary>A member's mark at a meeting: present, absent, late, medical or substitute.</summary>
public sealed record AttendanceFact(Guid MeetingId, DateOnly HeldOn, Guid MemberId, string Status)
{
    /// <summary>Present, late, or sent a substitute: the member's seat was filled.</summary>
    public bool Attended => Status is "present" or "late" or "substitute";
}

/// <summary>
/// Everything that happened in a chapter, reduced to the facts the reciprocity read models need:
/// who gave to whom and when each step followed, one-to-ones, and who was a member when.
/// </summary>
public sealed record ChapterFacts(
    string ChapterId,
    TimeZoneInfo TimeZone,
    string Currency,
    int TieHalfLifeDays,
    IReadOnlyList<MemberFact> Members,
    IReadOnlyList<ReferralFact> Referrals,
    IReadOnlyList<OneToOneFact> OneToOnes)
{
    /// <summary>The meetings' marks (from the inline meeting views, which are never behind the activity projection).</summary>
    public IReadOnlyList<AttendanceFact> Attendance { get; init; } = [];

    /// <summary>The chapter's visitors (from the inline visitor view).</summary>
    public IReadOnlyList<VisitorFact> Visitors { get; init; } = [];

    /// <summary>The instant a date in the chapter's time zone begins.</summary>
    public DateTimeOffset StartOf(DateOnly date) => StartOf(date, TimeZone);

    public static DateTimeOffset StartOf(DateOnly date, TimeZoneInfo timeZone)
    {
        var local = date.ToDateTime(TimeOnly.MinValue);
        return new DateTimeOffset(local, timeZone.GetUtcOffset(local));
    }

    public DateOnly DateOf(DateTimeOffset moment) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(moment, TimeZone).DateTime);
}
