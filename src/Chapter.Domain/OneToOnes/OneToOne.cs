using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;

namespace Chapter.Domain.OneToOnes;

public abstract record OneToOneEvent(Guid OneToOneId);

/// <summary>Two members met to get to know each other's business: relationships come before referrals.</summary>
public sealed record OneToOneHeld(Guid OneToOneId, string ChapterId, Guid MemberA, Guid MemberB, DateOnly Date, string? Note, DateTimeOffset RecordedAt)
    : OneToOneEvent(OneToOneId);

/// <summary>A one-to-one recorded by mistake, taken back by one of the two or a leader within a week: it counts for nothing.</summary>
public sealed record OneToOneWithdrawn(Guid OneToOneId, Guid WithdrawnBy, DateTimeOffset WithdrawnAt) : OneToOneEvent(OneToOneId);

public abstract record OneToOneCommand(Guid OneToOneId, DateTimeOffset Now);

public sealed record RecordOneToOne(Guid OneToOneId, string ChapterId, MemberStanding MemberA, MemberStanding MemberB, DateOnly Date, string? Note, DateOnly Today, DateTimeOffset Now)
    : OneToOneCommand(OneToOneId, Now);

public sealed record WithdrawOneToOne(Guid OneToOneId, Guid MemberId, bool MemberLeadsChapter, DateTimeOffset Now) : OneToOneCommand(OneToOneId, Now);

public abstract record OneToOne : DeciderState
{
    public static OneToOne Initial { get; } = new NotRecorded();

    public sealed record NotRecorded : OneToOne;
    public sealed record Recorded(OneToOneHeld Meeting) : OneToOne;
    public sealed record Withdrawn(OneToOneHeld Meeting, OneToOneWithdrawn Withdrawal) : OneToOne;

    public static OneToOne Evolve(OneToOne state, OneToOneEvent @event) => (state, @event) switch
    {
        (NotRecorded, OneToOneHeld held) => new Recorded(held),
        (Recorded r, OneToOneWithdrawn withdrawn) => new Withdrawn(r.Meeting, withdrawn),
        _ => state,
    };
}

public static class OneToOneDecider
{
    public static string StreamId(Guid oneToOneId) => $"one-to-one-{oneToOneId}";

    /// <summary>How long after it was recorded a one-to-one can be taken back.</summary>
    public static readonly TimeSpan WithdrawalWindow = TimeSpan.FromDays(7);

    public static OneToOneEvent[] Decide(OneToOneCommand command, OneToOne state) => (command, state) switch
    {
        (RecordOneToOne c, OneToOne.NotRecorded) => [Record(c)],
        (RecordOneToOne c, OneToOne.Recorded r) when IsSame(c, r.Meeting) => [],
        (RecordOneToOne, _) => throw new StateConflict("Another one-to-one was already recorded with this id."),

        (WithdrawOneToOne c, OneToOne.NotRecorded) => throw new NotFound($"One-to-one {c.OneToOneId} does not exist."),
        (WithdrawOneToOne c, _) when !c.MemberLeadsChapter && HeldBy(state) is { } m && c.MemberId != m.MemberA && c.MemberId != m.MemberB =>
            throw new NotPermitted("Only the two members who met, or a leader of the chapter, may withdraw a one-to-one."),
        (WithdrawOneToOne, OneToOne.Withdrawn) => [],
        (WithdrawOneToOne c, OneToOne.Recorded r) when c.Now - r.Meeting.RecordedAt > WithdrawalWindow =>
            throw new StateConflict("The one-to-one was recorded more than 7 days ago: it can no longer be withdrawn."),
        (WithdrawOneToOne c, OneToOne.Recorded) => [new OneToOneWithdrawn(c.OneToOneId, c.MemberId, c.Now)],
        _ => throw new InvalidOperationException($"No rule for {command.GetType().Name}."),
    };

    private static OneToOneHeld Record(RecordOneToOne c)
    {
        if (c.MemberA.MemberId == c.MemberB.MemberId)
            throw new RuleBroken("memberB", "A one-to-one is between two different members.");
        foreach (var (member, field) in new[] { (c.MemberA, "memberA"), (c.MemberB, "memberB") })
        {
            if (member.ChapterId != c.ChapterId)
                throw new RuleBroken(field, $"Member {member.MemberId} is not a member of chapter '{c.ChapterId}'.");
            if (!member.Active)
                throw new RuleBroken(field, $"Member {member.MemberId} has left the chapter.");
        }
        if (c.Date > c.Today)
            throw new RuleBroken("date", "A one-to-one is recorded once it has been held, not before.");
        return new OneToOneHeld(c.OneToOneId, c.ChapterId, c.MemberA.MemberId, c.MemberB.MemberId, c.Date, c.Note, c.Now);
    }

    private static OneToOneHeld? HeldBy(OneToOne state) => state switch
    {
        OneToOne.Recorded r => r.Meeting,
        OneToOne.Withdrawn w => w.Meeting,
        _ => null,
    };

    private static bool IsSame(RecordOneToOne c, OneToOneHeld held) =>
        c.ChapterId == held.ChapterId && c.MemberA.MemberId == held.MemberA && c.MemberB.MemberId == held.MemberB
        && c.Date == held.Date && c.Note == held.Note;
}
