using Chapter.Api.Infrastructure;
using Chapter.Domain.Referrals;
using Wolverine.Marten;

namespace Chapter.Api.Referrals;

public sealed record DecideReferral(string StreamKey, ReferralCommand Command, EventMetadata Metadata) : IStreamCommand;

public sealed record ReferralStream(string Id, Referral State);

public static class ReferralHandler
{
    public static (Decided, Events) Handle(DecideReferral command, [WriteAggregate(nameof(DecideReferral.StreamKey), Required = false)] ReferralStream? stream) =>
        Decided.Append(ReferralDecider.Decide(command.Command, stream?.State ?? Referral.Initial));
}
