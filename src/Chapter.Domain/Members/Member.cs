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

/// <summary>A leader corrected a member's details or changed their role; carries all of them, as they are now.</summary>
public sealed record MemberDetailsChanged(
    Guid MemberId, string Name, string Profession, IReadOnlyList<string> Languages, MemberRole Role, DateTimeOffset ChangedAt)
    : MemberEvent(MemberId);

/// <summary>What a member tells the chapter about themselves; every field is optional, short, in any language.</summary>
/// <param name="Ask">What they are looking for now: the referral they would most like.</param>
public sealed record MemberProfile(
    string? Ask, string? IdealReferral, string? Goals, string? Accomplishments, string? Interests, string? Networks, string? Skills)
{
    public static MemberProfile Empty { get; } = new(null, null, null, null, null, null, null);
}

/// <summary>The member's profile as it is now; each change is kept, so the history of their asks is too.</summary>
public sealed record MemberProfileChanged(Guid MemberId, MemberProfile Profile, DateTimeOffset ChangedAt) : MemberEvent(MemberId);

/// <summary>
/// A member who left asked to be forgotten (GDPR art. 17): their name, profession, languages and profile are masked in
/// every earlier event of their stream, and read as <see cref="FormerMember"/>. Carries nothing about them, so that
/// integrations following the feed learn to forget their own copies.
/// </summary>
public sealed record MemberPersonalDataErased(Guid MemberId, DateTimeOffset ErasedAt) : MemberEvent(MemberId)
{
    public const string FormerMember = "Former member";
}

public abstract record MemberCommand(Guid MemberId, DateTimeOffset Now);

public sealed record ChangeMemberProfile(Guid MemberId, MemberProfile Profile, DateTimeOffset Now) : MemberCommand(MemberId, Now);

public sealed record JoinChapter(
    Guid MemberId, string ChapterId, string Name, string Profession, IReadOnlyList<string> Languages, DateTimeOffset Now,
    MemberRole Role = MemberRole.Member)
    : MemberCommand(MemberId, Now);

public sealed record EraseMemberPersonalData(Guid MemberId, DateTimeOffset Now) : MemberCommand(MemberId, Now);

public sealed record LeaveChapter(Guid MemberId, DateTimeOffset Now) : MemberCommand(MemberId, Now);

public sealed record ChangeMemberDetails(
    Guid MemberId, string Name, string Profession, IReadOnlyList<string> Languages, MemberRole Role, DateTimeOffset Now)
    : MemberCommand(MemberId, Now);

public abstract record Member : DeciderState
{
    public static Member Initial { get; } = new NotJoined();

    public sealed record NotJoined : Member;
    public sealed record Active(MemberJoined Joining) : Member
    {
        public MemberProfile Profile { get; init; } = MemberProfile.Empty;
    }
    public sealed record Left(MemberJoined Joining, MemberLeft Leaving) : Member
    {
        public bool Erased { get; init; }
    }

    public static Member Evolve(Member state, MemberEvent @event) => (state, @event) switch
    {
        (NotJoined, MemberJoined joined) => new Active(joined),
        (Active active, MemberLeft left) => new Left(active.Joining, left),
        (Active active, MemberDetailsChanged changed) => active with
        {
            Joining = active.Joining with { Name = changed.Name, Profession = changed.Profession, Languages = changed.Languages, Role = changed.Role },
        },
        (Active active, MemberProfileChanged changed) => active with { Profile = changed.Profile },
        (Left left, MemberPersonalDataErased) => left with { Erased = true },
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
        (EraseMemberPersonalData c, Member.Left { Erased: false }) => [new MemberPersonalDataErased(c.MemberId, c.Now)],
        (EraseMemberPersonalData, Member.Left) => [],
        (EraseMemberPersonalData c, Member.Active) =>
            throw new StateConflict($"Member {c.MemberId} is still in the chapter: mark them as having left first; their personal data is erased only then."),
        (EraseMemberPersonalData c, Member.NotJoined) => throw new NotFound($"Member {c.MemberId} does not exist."),
        (ChangeMemberDetails c, Member.Active { Joining: var now })
            when now.Name == c.Name && now.Profession == c.Profession && now.Languages.SequenceEqual(c.Languages) && now.Role == c.Role => [],
        (ChangeMemberDetails c, Member.Active) => [new MemberDetailsChanged(c.MemberId, c.Name, c.Profession, c.Languages, c.Role, c.Now)],
        (ChangeMemberDetails c, Member.Left) => throw new StateConflict($"Member {c.MemberId} has left the chapter; their details stay as they were."),
        (ChangeMemberDetails c, Member.NotJoined) => throw new NotFound($"Member {c.MemberId} does not exist."),
        (ChangeMemberProfile c, Member.Active { Profile: var now }) when now == c.Profile => [],
        (ChangeMemberProfile c, Member.Active) => [new MemberProfileChanged(c.MemberId, c.Profile, c.Now)],
        (ChangeMemberProfile c, Member.Left) => throw new StateConflict($"Member {c.MemberId} has left the chapter; their profile stays as it was."),
        (ChangeMemberProfile c, Member.NotJoined) => throw new NotFound($"Member {c.MemberId} does not exist."),
        _ => throw new StateConflict($"Cannot {command.GetType().Name} a member who is {state.GetType().Name}."),
    };
}
