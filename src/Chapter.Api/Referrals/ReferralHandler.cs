using Chapter.Api.Infrastructure;
using Chapter.Api.Notifications;
using Chapter.Domain.Referrals;
using Wolverine;
using Wolverine.Marten;

namespace Chapter.Api.Referrals;

public sealed record DecideReferral(string StreamKey, ReferralCommand Command, EventMetadata Metadata) : IStreamCommand;

public sealed record ReferralStream(string Id, Referral State);

public static class ReferralHandler
{
    /// <summary>The decider's events, and the notices they call for, which commit with them through Wolverine's outbox.</summary>
    public static (Decided, Events, OutgoingMessages) Handle(DecideReferral command,
        [WriteAggregate(nameof(DecideReferral.StreamKey), Required = false)] ReferralStream? stream)
    {
        var before = stream?.State ?? Referral.Initial;
        var (decided, events) = Decided.Append(ReferralDecider.Decide(command.Command, before));
        var notices = new OutgoingMessages();
        notices.AddRange(ReferralNotice.For(before, events));
        if (before is Referral.Existing { Origin: var origin })
            notices.AddRange(events.OfType<ReferralIntroduced>().Select(i => new IntroductionRequested(origin.ChapterId, i.ReferralId, origin.GiverId, origin.ReceiverId, i.Line)));
        return (decided, events, notices);
    }
}
