using Chapter.Domain.Shared;

namespace Chapter.Domain.Members;

/// <summary>Leaders manage the chapter's members and read all of its referrals and reports; both give and receive referrals.</summary>
public enum MemberRole { Member, Leader }

public abstract record MemberEvent(Guid MemberId);

public sealed record MemberJoined(
    Guid MemberId, string ChapterId, string Name, string Profession, IReadOnlyList<string> Languages, DateTimeOffset JoinedAt,
    MemberRole Role = MemberRole.Member)
    : MemberEvent(MemberId);

public sealed record MemberLeft(Guid MemberId, DateTimeOffset LeftAt) : MemberEvent(MemberId);

public abstract record MemberCommand(Guid MemberId, DateTimeOffset Now);

public sealed record JoinChapter(
    Guid MemberId, string ChapterId, string Name, string Profession, IReadOnlyList<string> Languages, DateTimeOffset Now,
    MemberRole Role = MemberRole.Member)
    : MemberCommand(MemberId, Now);

public sealed record LeaveChapter(Guid MemberId, DateTimeOffset Now) : MemberCommand(MemberId, Now);

public abstract record Member
{
    public static Member Initial { get; } = new NotJoined();

    public sealed record NotJoined : Member;
    public sealed record Active(MemberJoined Joining) : Member;
    public sealed record Left(MemberJoined Joining, MemberLeft Leaving) : Member;

    public static Member Evolve(Member state, MemberEvent @event) => (state, @event) switch
    {
        (NotJoined, MemberJoined joined) => new Active(joined),
        (Active active, MemberLeft left) => new Left(active.Joining, left),
        _ => state,
    };
}

public static class MemberDecider
{
    public static string StreamId(Guid memberId) => $"member-{memberId}";

    public static MemberEvent[] Decide(MemberCommand command, Member state) => (command, state) switch
    {
        (JoinChapter c, Member.NotJoined) => [new MemberJoined(c.MemberId, c.ChapterId, c.Name, c.Profession, c.Languages, c.Now, c.Role)],
        (JoinChapter c, _) => throw new StateConflict($"Member {c.MemberId} already exists."),
        (LeaveChapter c, Member.Active) => [new MemberLeft(c.MemberId, c.Now)],
        (LeaveChapter, Member.Left) => [],
        (LeaveChapter c, Member.NotJoined) => throw new NotFound($"Member {c.MemberId} does not exist."),
        _ => throw new StateConflict($"Cannot {command.GetType().Name} a member who is {state.GetType().Name}."),
    };
}
