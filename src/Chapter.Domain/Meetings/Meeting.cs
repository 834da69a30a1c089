using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;

namespace Chapter.Domain.Meetings;

/// <summary>PALMS, as chapters record it: present, absent, late, medical, or a substitute came in the member's place.</summary>
public enum Attendance { Present, Absent, Late, Medical, Substitute }

public abstract record MeetingEvent(Guid MeetingId);

/// <summary>A leader opened the chapter's meeting of a day (the chapter's own date): one per day.</summary>
public sealed record MeetingOpened(Guid MeetingId, string ChapterId, DateOnly Date, DateTimeOffset OpenedAt) : MeetingEvent(MeetingId);

/// <summary>
/// A member's attendance at a meeting, or a correction of it. A substitute is not a member: their name is personal data,
/// so <see cref="SealedSubstitute"/> holds it sealed with a key kept outside the log (as a prospect's), and the domain
/// never reads it. <see cref="SubstituteProfession"/> says what they do, which names nobody.
/// </summary>
public sealed record AttendanceMarked(
    Guid MeetingId, Guid MemberId, Attendance Status, string? SealedSubstitute, string? SubstituteProfession, bool Correction, DateTimeOffset MarkedAt)
    : MeetingEvent(MeetingId);

/// <summary>The meeting's record is final: no more marks or corrections.</summary>
public sealed record MeetingClosed(Guid MeetingId, DateTimeOffset ClosedAt) : MeetingEvent(MeetingId);

public abstract record MeetingCommand(Guid MeetingId, DateTimeOffset Now);

public sealed record OpenMeeting(Guid MeetingId, string ChapterId, DateOnly Date, DateOnly Today, DateTimeOffset Now) : MeetingCommand(MeetingId, Now);

/// <param name="SealedSubstitute">The substitute's name, sealed by the caller; required for <see cref="Attendance.Substitute"/> and refused otherwise.</param>
public sealed record MarkAttendance(Guid MeetingId, MemberStanding Member, Attendance Status, string? SealedSubstitute, string? SubstituteProfession,
    DateTimeOffset Now) : MeetingCommand(MeetingId, Now);

public sealed record CloseMeeting(Guid MeetingId, DateTimeOffset Now) : MeetingCommand(MeetingId, Now);

public abstract record Meeting : DeciderState
{
    public static Meeting Initial { get; } = new NotOpened();

    public sealed record NotOpened : Meeting;

    /// <param name="Marks">Each member's latest mark.</param>
    public sealed record Open(MeetingOpened Opening, IReadOnlyDictionary<Guid, AttendanceMarked> Marks) : Meeting;

    public sealed record Closed(MeetingOpened Opening, IReadOnlyDictionary<Guid, AttendanceMarked> Marks) : Meeting;

    public static Meeting Evolve(Meeting state, MeetingEvent @event) => (state, @event) switch
    {
        (NotOpened, MeetingOpened opened) => new Open(opened, new Dictionary<Guid, AttendanceMarked>()),
        (Open open, AttendanceMarked marked) => open with { Marks = new Dictionary<Guid, AttendanceMarked>(open.Marks) { [marked.MemberId] = marked } },
        (Open open, MeetingClosed) => new Closed(open.Opening, open.Marks),
        _ => state,
    };
}

/// <summary>
/// A meeting: opened once for its day, marked member by member (the same mark again changes nothing, another is a
/// correction), then closed, after which its record stays as it is.
/// </summary>
public static class MeetingDecider
{
    public static string StreamId(Guid meetingId) => $"meeting-{meetingId}";

    /// <summary>The same id for the same chapter and day, so a second meeting on a day is the first one again.</summary>
    public static Guid IdFor(string chapterId, DateOnly date)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"meeting:{chapterId}:{date:yyyy-MM-dd}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // a name-based UUID (version 5 layout)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    public static MeetingEvent[] Decide(MeetingCommand command, Meeting state) => (command, state) switch
    {
        (OpenMeeting open, Meeting.NotOpened) when open.Date > open.Today.AddDays(7) =>
            throw new RuleBroken("date", "A meeting is opened in its week, not further ahead."),
        (OpenMeeting open, Meeting.NotOpened) => [new MeetingOpened(open.MeetingId, open.ChapterId, open.Date, open.Now)],
        (OpenMeeting open, _) => throw new StateConflict($"The chapter already has a meeting on {open.Date:yyyy-MM-dd}."),

        (_, Meeting.NotOpened) => throw new NotFound($"Meeting {command.MeetingId} does not exist."),
        (CloseMeeting, Meeting.Closed) => [],
        (_, Meeting.Closed) => throw new StateConflict("The meeting is closed: its record stays as it is."),
        (CloseMeeting close, Meeting.Open) => [new MeetingClosed(close.MeetingId, close.Now)],

        (MarkAttendance mark, Meeting.Open open) => Mark(mark, open),
        _ => throw new InvalidOperationException($"No rule for {command.GetType().Name}."),
    };

    private static MeetingEvent[] Mark(MarkAttendance mark, Meeting.Open open)
    {
        if (mark.Member.ChapterId != open.Opening.ChapterId)
            throw new RuleBroken("memberId", $"Member {mark.Member.MemberId} is not a member of chapter '{open.Opening.ChapterId}'.");
        if (!mark.Member.Active)
            throw new RuleBroken("memberId", $"Member {mark.Member.MemberId} has left the chapter.");
        if (mark.Status == Attendance.Substitute && mark.SealedSubstitute is null)
            throw new RuleBroken("substitute.name", "A substitute came in the member's place: say who.");
        if (mark.Status != Attendance.Substitute && (mark.SealedSubstitute is not null || mark.SubstituteProfession is not null))
            throw new RuleBroken("substitute", "Only a member marked 'substitute' has one.");
        var previous = open.Marks.GetValueOrDefault(mark.Member.MemberId);
        if (previous is not null && previous.Status == mark.Status && previous.SealedSubstitute == mark.SealedSubstitute
            && previous.SubstituteProfession == mark.SubstituteProfession)
            return [];
        return [new AttendanceMarked(mark.MeetingId, mark.Member.MemberId, mark.Status, mark.SealedSubstitute, mark.SubstituteProfession,
            Correction: previous is not null, mark.Now)];
    }
}
