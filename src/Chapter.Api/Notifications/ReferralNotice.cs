using System.Text.Json.Serialization;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;

namespace Chapter.Api.Notifications;

public enum ReferralStep { Given, Accepted, Declined, Closed, Thanked, Corrected, Withdrawn, Stranded }

/// <summary>
/// What one member hears of a step in a referral: the receiver that it was given to them, the giver each step after that
/// (thanks being the report back). The command that appends the step returns it as a cascading message, so Wolverine's
/// outbox commits it with the event or not at all. It carries no prospect: who they are stays behind the sign-in.
/// </summary>
public sealed record ReferralNotice(
    string ChapterId, Guid ReferralId, Guid RecipientId, Guid FromMemberId, ReferralStep Step, string Need, Temperature Temperature,
    string Language, string? Reason = null, Outcome? Outcome = null, Money? Value = null, string? Note = null)
{
    [JsonIgnore]
    public NoticeKind Kind => Step == ReferralStep.Given ? NoticeKind.ReferralReceived : NoticeKind.ReferralUpdates;

    /// <summary>The notices a command's new events call for, given the referral as it was before them.</summary>
    public static IReadOnlyList<ReferralNotice> For(Referral before, IEnumerable<object> events)
    {
        var notices = new List<ReferralNotice>();
        var origin = (before as Referral.Existing)?.Origin;
        var receiver = (before as Referral.Existing)?.ReceiverId;
        foreach (var e in events)
        {
            if (e is ReferralGiven given)
            {
                (origin, receiver) = (given, given.ReceiverId);
                notices.Add(Notice(given, given.ReceiverId, given.GiverId, ReferralStep.Given));
                continue;
            }
            if (origin is null || receiver is not { } receiverId)
                continue;
            var toGiver = (ReferralStep step) => Notice(origin, origin.GiverId, receiverId, step);
            switch (e)
            {
                // The new receiver hears of it as of a referral given to them.
                case ReferralRedirected redirected:
                    receiver = redirected.ToReceiverId;
                    notices.Add(Notice(origin, redirected.ToReceiverId, origin.GiverId, ReferralStep.Given));
                    break;
                case ReferralWithdrawn withdrawn:
                    notices.Add(Notice(origin, receiverId, origin.GiverId, ReferralStep.Withdrawn) with { Reason = withdrawn.Reason });
                    break;
                case ReferralCorrected corrected:
                    notices.Add(toGiver(ReferralStep.Corrected) with
                    {
                        Reason = corrected.Reason, Outcome = corrected.Outcome, Value = corrected.Value, Note = corrected.ThankNote,
                    });
                    break;
                case ReferralAccepted:
                    notices.Add(toGiver(ReferralStep.Accepted));
                    break;
                case ReferralDeclined declined:
                    notices.Add(toGiver(ReferralStep.Declined) with { Reason = declined.Reason });
                    break;
                case ReferralClosed closed:
                    notices.Add(toGiver(ReferralStep.Closed) with { Outcome = closed.Outcome, Value = closed.Value });
                    break;
                case ReferralThanked thanked:
                    notices.Add(toGiver(ReferralStep.Thanked) with { Note = thanked.Note });
                    break;
            }
        }
        return notices;
    }

    private static ReferralNotice Notice(ReferralGiven origin, Guid recipient, Guid from, ReferralStep step) =>
        new(origin.ChapterId, origin.ReferralId, recipient, from, step, origin.Need, origin.Temperature, origin.Language);
}
