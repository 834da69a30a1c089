using Chapter.Domain.Shared;
using static Chapter.Domain.Referrals.Referral;

namespace Chapter.Domain.Referrals;

/// <summary>
/// The referral lifecycle: given → accepted | declined | withdrawn (by the giver), and passed to another member while given;
/// accepted → closed; accepted | closed → thanked, once; closed or thanked → corrected, within 30 days of the step; and, at the
/// giver's asking, one introduction e-mail while it is given, accepted or closed.
/// Repeating a step with the same data changes nothing; repeating it with other data is a conflict.
/// </summary>
public static class ReferralDecider
{
    public static string StreamId(Guid referralId) => $"referral-{referralId}";

    public static ReferralEvent[] Decide(ReferralCommand command, Referral state) => (command, state) switch
    {
        (GiveReferral give, NotGiven) => [Give(give)],
        (GiveReferral give, Existing existing) when IsSameReferral(give, existing.Origin) => [],
        (GiveReferral, Existing) => throw new StateConflict("Another referral was already given with this id."),

        (EraseProspect, NotGiven) => throw new NotFound($"Referral {command.ReferralId} does not exist."),
        (EraseProspect c, Existing existing) when c.MemberId != existing.Origin.GiverId && !c.MemberLeadsChapter =>
            throw new NotPermitted("Only the giver of a referral or a leader of the chapter may erase the prospect's details."),
        (EraseProspect, Existing { Origin.SealedProspect: null }) => [],
        (EraseProspect c, Existing) => [new ProspectErased(c.ReferralId, c.Now)],

        (IntroduceReferral, NotGiven) => throw new NotFound($"Referral {command.ReferralId} does not exist."),
        (IntroduceReferral c, Existing existing) when c.MemberId != existing.Origin.GiverId =>
            throw new NotPermitted("Only the giver of a referral may ask for its introduction."),
        (IntroduceReferral, Existing { Introduction: not null }) => [],
        (IntroduceReferral, Existing { Origin.SealedProspect: null }) =>
            throw new StateConflict("The prospect's details were erased: there is nobody left to introduce."),
        (IntroduceReferral, Existing { Origin.ProspectConsent: false }) =>
            throw new RuleBroken("prospect.consent", "The prospect did not agree to be contacted."),
        (IntroduceReferral, Declined) => throw new StateConflict("The receiver declined this referral: there is nobody to introduce the prospect to."),
        (IntroduceReferral, Withdrawn) => throw new StateConflict("The giver withdrew this referral: there is nobody to introduce the prospect to."),
        (IntroduceReferral c, Existing) => [new ReferralIntroduced(c.ReferralId, c.MemberId, c.Line, c.Now)],

        (WithdrawReferral or RedirectReferral or CorrectReferral, NotGiven) => throw new NotFound($"Referral {command.ReferralId} does not exist."),
        (WithdrawReferral c, Existing existing) when c.MemberId != existing.Origin.GiverId =>
            throw new NotPermitted("Only the giver of a referral may withdraw it."),
        (WithdrawReferral, Withdrawn) => [],
        (WithdrawReferral c, Given) => [new ReferralWithdrawn(c.ReferralId, c.MemberId, c.Reason, c.Now)],
        (WithdrawReferral, _) => throw new StateConflict($"Only a referral not yet accepted can be withdrawn; this one is {Status(state)}."),

        (RedirectReferral c, Existing existing) when c.MemberId != existing.Origin.GiverId =>
            throw new NotPermitted("Only the giver of a referral may pass it to another member."),
        (RedirectReferral c, Given g) when c.Receiver.MemberId == g.ReceiverId => [],
        (RedirectReferral c, Given g) => [Redirect(c, g)],
        (RedirectReferral, _) => throw new StateConflict($"Only a referral not yet accepted can be passed to another member; this one is {Status(state)}."),

        (CorrectReferral c, Existing existing) when c.MemberId != existing.ReceiverId && !c.MemberLeadsChapter =>
            throw new NotPermitted("Only the receiver of a referral or a leader of the chapter may correct it."),
        (CorrectReferral c, Existing existing) => Correct(c, existing),

        (ReceiverCommand, NotGiven) => throw new NotFound($"Referral {command.ReferralId} does not exist."),
        (ReceiverCommand c, Existing existing) when c.MemberId != existing.ReceiverId =>
            throw new NotPermitted($"Only the receiver of a referral may {Describe(c)} it."),

        (AcceptReferral c, Given) => [new ReferralAccepted(c.ReferralId, c.MemberId, c.Now)],
        (AcceptReferral, Accepted or Closed) => [],

        (DeclineReferral c, Given) => [new ReferralDeclined(c.ReferralId, c.MemberId, c.Reason, c.Now)],
        (DeclineReferral c, Declined d) when d.Decline.Reason == c.Reason => [],
        (DeclineReferral, Declined) => throw new StateConflict("This referral was already declined with another reason."),

        (CloseReferral c, Accepted) => [Close(c)],
        (CloseReferral c, Closed closed) when closed.Closing.Outcome == c.Outcome && closed.Closing.Value == c.Value => [],
        (CloseReferral, Closed) => throw new StateConflict("This referral was already closed with another outcome or value."),

        (ThankGiver c, Accepted { Thanks: null } or Closed { Thanks: null }) => [new ReferralThanked(c.ReferralId, c.MemberId, c.Note, c.Now)],
        (ThankGiver c, Accepted { Thanks: { } thanks }) when thanks.Note == c.Note => [],
        (ThankGiver c, Closed { Thanks: { } thanks }) when thanks.Note == c.Note => [],
        (ThankGiver, Accepted or Closed) => throw new StateConflict("The giver was already thanked for this referral."),

        (ReceiverCommand c, _) => throw new StateConflict($"Cannot {Describe(c)} a referral that is {Status(state)}."),
        _ => throw new InvalidOperationException($"No rule for {command.GetType().Name}."),
    };

    private static ReferralGiven Give(GiveReferral c)
    {
        if (c.Giver.MemberId == c.Receiver.MemberId)
            throw new RuleBroken("receiverId", "A member cannot give a referral to themselves.");
        foreach (var (member, field) in new[] { (c.Giver, "giverId"), (c.Receiver, "receiverId") })
        {
            if (member.ChapterId != c.ChapterId)
                throw new RuleBroken(field, $"Member {member.MemberId} is not a member of chapter '{c.ChapterId}'.");
            if (!member.Active)
                throw new RuleBroken(field, $"Member {member.MemberId} has left the chapter.");
        }
        if (!c.ProspectConsent)
            throw new RuleBroken("prospect.consent", "The prospect must agree to be contacted before their details are passed on.");
        if (string.IsNullOrWhiteSpace(c.Language))
            throw new RuleBroken("language", "Say in which language the introduction should be held.");

        return new ReferralGiven(c.ReferralId, c.ChapterId, c.Giver.MemberId, c.Receiver.MemberId, c.ProspectConsent, c.SealedProspect, c.Need, c.Temperature, c.Language, c.Now);
    }

    private static ReferralClosed Close(CloseReferral c) => (c.Outcome, c.Value) switch
    {
        (Outcome.Won, null) => throw new RuleBroken("value", "Business won needs its value."),
        (Outcome.Lost, not null) => throw new RuleBroken("value", "Business lost has no value."),
        (_, { Amount: < 0 }) => throw new RuleBroken("value.amount", "The value cannot be negative."),
        _ => new ReferralClosed(c.ReferralId, c.MemberId, c.Outcome, c.Value, c.Now),
    };

    /// <summary>How long after a step it can still be corrected.</summary>
    public static readonly TimeSpan CorrectionWindow = TimeSpan.FromDays(30);

    private static ReferralEvent[] Correct(CorrectReferral c, Existing state)
    {
        if (string.IsNullOrWhiteSpace(c.Reason))
            throw new RuleBroken("reason", "Say why the referral is corrected: the giver reads it.");
        if (c.Outcome is null && c.Value is null && c.ThankNote is null)
            throw new RuleBroken("outcome", "Say what to correct: the outcome, the value or the thank-you note.");

        var (closing, thanks) = state switch
        {
            Closed closed => (closed.Closing, closed.Thanks),
            Accepted accepted => (null, accepted.Thanks),
            _ => ((ReferralClosed?)null, (ReferralThanked?)null),
        };

        var closingCorrected = false;
        var (outcome, value) = (closing?.Outcome, closing?.Value);
        if (c.Outcome is not null || c.Value is not null)
        {
            if (closing is null)
                throw new StateConflict($"Only the outcome and value of a closed referral can be corrected; this one is {Status(state)}.");
            if (c.Now - closing.ClosedAt > CorrectionWindow)
                throw new RuleBroken(c.Outcome is null ? "value" : "outcome", "The business was closed more than 30 days ago: it can no longer be corrected.");
            outcome = c.Outcome ?? closing.Outcome;
            value = c.Value ?? (outcome == Outcome.Won ? closing.Value : null);
            switch (outcome, value)
            {
                case (Outcome.Won, null): throw new RuleBroken("value", "Business won needs its value.");
                case (Outcome.Lost, not null): throw new RuleBroken("value", "Business lost has no value.");
                case (_, { Amount: < 0 }): throw new RuleBroken("value.amount", "The value cannot be negative.");
            }
            closingCorrected = outcome != closing.Outcome || value != closing.Value;
        }

        var noteCorrected = false;
        if (c.ThankNote is not null)
        {
            if (thanks is null)
                throw new StateConflict("The giver has not been thanked for this referral yet: thank them instead.");
            if (c.Now - thanks.ThankedAt > CorrectionWindow)
                throw new RuleBroken("thankNote", "The giver was thanked more than 30 days ago: the note can no longer be corrected.");
            noteCorrected = c.ThankNote != thanks.Note;
        }

        return closingCorrected || noteCorrected
            ? [new ReferralCorrected(c.ReferralId, c.MemberId, closingCorrected ? outcome : null, closingCorrected ? value : null,
                noteCorrected ? c.ThankNote : null, c.Reason, c.Now)]
            : [];
    }

    private static ReferralRedirected Redirect(RedirectReferral c, Given state)
    {
        if (c.Receiver.MemberId == state.Origin.GiverId)
            throw new RuleBroken("receiverId", "A member cannot give a referral to themselves.");
        if (c.Receiver.ChapterId != state.Origin.ChapterId)
            throw new RuleBroken("receiverId", $"Member {c.Receiver.MemberId} is not a member of chapter '{state.Origin.ChapterId}'.");
        if (!c.Receiver.Active)
            throw new RuleBroken("receiverId", $"Member {c.Receiver.MemberId} has left the chapter.");
        return new ReferralRedirected(c.ReferralId, c.MemberId, state.ReceiverId, c.Receiver.MemberId, c.Now);
    }

    private static bool IsSameReferral(GiveReferral give, ReferralGiven origin) =>
        give.ChapterId == origin.ChapterId
        && give.Giver.MemberId == origin.GiverId
        && give.Receiver.MemberId == origin.ReceiverId
        && give.ProspectConsent == origin.ProspectConsent
        // Sealing is deterministic per referral, so the same details seal to the same text.
        && give.SealedProspect == origin.SealedProspect
        && give.Need == origin.Need
        && give.Temperature == origin.Temperature
        && give.Language == origin.Language;

    public static string Status(Referral state) => state switch
    {
        NotGiven => "not given",
        Given => "given",
        Declined => "declined",
        Withdrawn => "withdrawn",
        Accepted { Thanks: not null } => "thanked",
        Accepted => "accepted",
        Closed { Thanks: not null, Closing.ClosedAt: var closedAt } c when c.Thanks.ThankedAt >= closedAt => "thanked",
        Closed => "closed",
        _ => state.GetType().Name,
    };

    private static string Describe(ReceiverCommand command) => command switch
    {
        AcceptReferral => "accept",
        DeclineReferral => "decline",
        CloseReferral => "close",
        ThankGiver => "thank the giver of",
        _ => command.GetType().Name,
    };
}
