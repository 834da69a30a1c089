using Chapter.Api.Infrastructure;
using Chapter.Api.Notifications;
using Chapter.Domain.Referrals;
using Wolverine;
using Wolverine.Marten;

namespace Chapter.Api.Referrals;

public sealed record DecideReferral(string StreamKey, ReferralCommand Command, EventMetadata Metadata) : StreamCommand(StreamKey, Metadata);

/// <summary>A give of a referral its chapter did not have a moment ago: its stream is started without being read first.</summary>
public sealed record StartReferral(string StreamKey, GiveReferral Command, EventMetadata Metadata) : StreamCommand(StreamKey, Metadata);

public sealed record ReferralStream(string Id, Referral State);

public static class ReferralHandler
{
    /// <summary>The decider's events, and the notices they call for, which commit with them through Wolverine's outbox.</summary>
    public static (Decided, Events, OutgoingMessages) Handle(DecideReferral command,
        [WriteAggregate(nameof(DecideReferral.StreamKey), Required = false)] ReferralStream? stream)
    {
        var before = stream?.State ?? Referral.Initial;
        var (decided, events) = Decided.Append(() => ReferralDecider.Decide(command.Command, before));
        return (decided, events, Notices(before, events));
    }

    /// <summary>
    /// Decided on a referral not given yet. Starting the stream still checks that it is new: should another give with this id
    /// have got there since, Marten refuses the start (a concurrency conflict, which Wolverine's retries meet again), and the
    /// caller decides again on what is there, through <see cref="DecideReferral"/>.
    /// </summary>
    public static (Decided, IStartStream?, OutgoingMessages) Handle(StartReferral command)
    {
        var (decided, events) = Decided.Append(() => ReferralDecider.Decide(command.Command, Referral.Initial));
        return decided.Refusal is null
            ? (decided, MartenOps.StartStream<ReferralStream>(command.StreamKey, [.. events]), Notices(Referral.Initial, events))
            : (decided, null, []);
    }

    private static OutgoingMessages Notices(Referral before, IReadOnlyList<object> events)
    {
        var notices = new OutgoingMessages();
        notices.AddRange(ReferralNotice.For(before, events));
        if (before is Referral.Existing { Origin: var origin })
            notices.AddRange(events.OfType<ReferralIntroduced>().Select(i => new IntroductionRequested(origin.ChapterId, i.ReferralId, origin.GiverId, origin.ReceiverId, i.Line)));
        return notices;
    }
}
