using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;

namespace Chapter.Domain.Visitors;

public enum FollowUpStep { Thanked, Applied, Joined, NotInterested }

public abstract record VisitorEvent(Guid VisitorId);

/// <summary>
/// A visitor came to a meeting, invited by a member. They are not a member: their name and contact details are personal
/// data, sealed with a key of their own outside the log (as a prospect's), and kept only with their consent, except the
/// name alone for the meeting's record.
/// </summary>
public sealed record VisitorRegistered(
    Guid VisitorId, string ChapterId, string SealedDetails, string Profession, Guid InvitedBy, Guid? MeetingId, bool Consent, DateTimeOffset RegisteredAt)
    : VisitorEvent(VisitorId);

/// <summary>A step in following the visitor up; one who joined links to the member they became.</summary>
public sealed record VisitorFollowedUp(Guid VisitorId, FollowUpStep Step, string? Note, Guid? MemberId, DateTimeOffset FollowedUpAt) : VisitorEvent(VisitorId);

public abstract record VisitorCommand(Guid VisitorId, DateTimeOffset Now);

/// <param name="HasContactDetails">Whether the sealed details hold an e-mail or a phone: those need the visitor's consent.</param>
public sealed record RegisterVisitor(Guid VisitorId, string ChapterId, string SealedDetails, bool HasContactDetails, string Profession,
    MemberStanding InvitedBy, Guid? MeetingId, bool Consent, DateTimeOffset Now) : VisitorCommand(VisitorId, Now);

public sealed record FollowUpVisitor(Guid VisitorId, FollowUpStep Step, string? Note, MemberStanding? NewMember, DateTimeOffset Now) : VisitorCommand(VisitorId, Now);

public abstract record Visitor : DeciderState
{
    public static Visitor Initial { get; } = new NotRegistered();

    public sealed record NotRegistered : Visitor;

    public sealed record Registered(VisitorRegistered Registration, IReadOnlyList<VisitorFollowedUp> Steps) : Visitor;

    public static Visitor Evolve(Visitor state, VisitorEvent @event) => (state, @event) switch
    {
        (NotRegistered, VisitorRegistered registered) => new Registered(registered, []),
        (Registered r, VisitorFollowedUp step) => r with { Steps = [.. r.Steps, step] },
        _ => state,
    };
}

/// <summary>A visitor registered once, with consent for their contact details; then followed up step by step.</summary>
public static class VisitorDecider
{
    public static string StreamId(Guid visitorId) => $"visitor-{visitorId}";

    public static VisitorEvent[] Decide(VisitorCommand command, Visitor state) => (command, state) switch
    {
        (RegisterVisitor r, Visitor.NotRegistered) => [Register(r)],
        (RegisterVisitor r, Visitor.Registered existing) when existing.Registration.SealedDetails == r.SealedDetails
                                                            && existing.Registration.InvitedBy == r.InvitedBy.MemberId => [],
        (RegisterVisitor, Visitor.Registered) => throw new StateConflict("Another visitor was already registered with this id."),
        (FollowUpVisitor, Visitor.NotRegistered) => throw new NotFound($"Visitor {command.VisitorId} does not exist."),
        (FollowUpVisitor f, Visitor.Registered { Steps: [.., var last] }) when last.Step == f.Step && last.Note == f.Note => [],
        (FollowUpVisitor f, Visitor.Registered r) => [FollowUp(f, r)],
        _ => throw new InvalidOperationException($"No rule for {command.GetType().Name}."),
    };

    private static VisitorRegistered Register(RegisterVisitor r)
    {
        if (r.InvitedBy.ChapterId != r.ChapterId)
            throw new RuleBroken("invitedBy", $"Member {r.InvitedBy.MemberId} is not a member of chapter '{r.ChapterId}'.");
        if (!r.InvitedBy.Active)
            throw new RuleBroken("invitedBy", $"Member {r.InvitedBy.MemberId} has left the chapter.");
        // Never kept without permission: the name alone may stay for the meeting's record, contact details need consent.
        if (r.HasContactDetails && !r.Consent)
            throw new RuleBroken("consent", "The visitor's e-mail or phone is kept only with their consent: ask them first, or leave the details out.");
        return new VisitorRegistered(r.VisitorId, r.ChapterId, r.SealedDetails, r.Profession, r.InvitedBy.MemberId, r.MeetingId, r.Consent, r.Now);
    }

    private static VisitorFollowedUp FollowUp(FollowUpVisitor f, Visitor.Registered r)
    {
        if (f.Step == FollowUpStep.Joined)
        {
            if (f.NewMember is not { } member)
                throw new RuleBroken("memberId", "A visitor who joined is linked to the member they became.");
            if (member.ChapterId != r.Registration.ChapterId)
                throw new RuleBroken("memberId", $"Member {member.MemberId} is not a member of chapter '{r.Registration.ChapterId}'.");
        }
        else if (f.NewMember is not null)
            throw new RuleBroken("memberId", "Only a visitor who joined is linked to a member.");
        return new VisitorFollowedUp(f.VisitorId, f.Step, f.Note, f.NewMember?.MemberId, f.Now);
    }
}
