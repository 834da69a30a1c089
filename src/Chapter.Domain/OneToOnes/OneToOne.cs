using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;

namespace Chapter.Domain.OneToOnes;

/// <summary>Two members met to get to know each other's business: relationships come before referrals.</summary>
public sealed record OneToOneHeld(Guid OneToOneId, string ChapterId, Guid MemberA, Guid MemberB, DateOnly Date, string? Note, DateTimeOffset RecordedAt);

public sealed record RecordOneToOne(Guid OneToOneId, string ChapterId, MemberStanding MemberA, MemberStanding MemberB, DateOnly Date, string? Note, DateOnly Today, DateTimeOffset Now);

public abstract record OneToOne : DeciderState
{
    public static OneToOne Initial { get; } = new NotRecorded();

    public sealed record NotRecorded : OneToOne;
    public sealed record Recorded(OneToOneHeld Meeting) : OneToOne;

    public static OneToOne Evolve(OneToOne state, OneToOneHeld held) => new Recorded(held);
}

public static class OneToOneDecider
{
    public static string StreamId(Guid oneToOneId) => $"one-to-one-{oneToOneId}";

    public static OneToOneHeld[] Decide(RecordOneToOne command, OneToOne state) => state switch
    {
        OneToOne.NotRecorded => [Record(command)],
        OneToOne.Recorded r when IsSame(command, r.Meeting) => [],
        _ => throw new StateConflict("Another one-to-one was already recorded with this id."),
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

    private static bool IsSame(RecordOneToOne c, OneToOneHeld held) =>
        c.ChapterId == held.ChapterId && c.MemberA.MemberId == held.MemberA && c.MemberB.MemberId == held.MemberB
        && c.Date == held.Date && c.Note == held.Note;
}
