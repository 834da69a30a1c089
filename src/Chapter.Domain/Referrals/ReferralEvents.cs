using Chapter.Domain.Shared;

namespace Chapter.Domain.Referrals;

public enum Temperature { Hot, Warm, Cold }

public enum Outcome { Won, Lost }

public abstract record ReferralEvent(Guid ReferralId);

/// <summary>
/// A member introduces a prospect to another member. <see cref="ProspectConsent"/> records that the prospect
/// agreed to be contacted: a prospect is never passed on without permission.
/// The prospect is not a member, and their contact details are personal data that must be erasable although
/// the log is append-only: <see cref="SealedProspect"/> holds them encrypted with a key kept outside the log,
/// one key per referral, so destroying that key erases them from every event and read model at once.
/// The domain never reads them. Null in a referral's state once they are erased.
/// </summary>
public sealed record ReferralGiven(
    Guid ReferralId,
    string ChapterId,
    Guid GiverId,
    Guid ReceiverId,
    bool ProspectConsent,
    string? SealedProspect,
    string Need,
    Temperature Temperature,
    string Language,
    DateTimeOffset GivenAt) : ReferralEvent(ReferralId);

public sealed record ReferralAccepted(Guid ReferralId, Guid ReceiverId, DateTimeOffset AcceptedAt) : ReferralEvent(ReferralId);

public sealed record ReferralDeclined(Guid ReferralId, Guid ReceiverId, string Reason, DateTimeOffset DeclinedAt) : ReferralEvent(ReferralId);

public sealed record ReferralClosed(Guid ReferralId, Guid ReceiverId, Outcome Outcome, Money? Value, DateTimeOffset ClosedAt) : ReferralEvent(ReferralId);

/// <summary>The receiver thanks the giver and reports back what came of the introduction.</summary>
public sealed record ReferralThanked(Guid ReferralId, Guid ReceiverId, string Note, DateTimeOffset ThankedAt) : ReferralEvent(ReferralId);

/// <summary>
/// The giver asked the service to introduce the prospect and the receiver to each other by e-mail, with the giver in copy:
/// once per referral. <see cref="Line"/> is the giver's own word to them both.
/// </summary>
public sealed record ReferralIntroduced(Guid ReferralId, Guid GiverId, string? Line, DateTimeOffset IntroducedAt) : ReferralEvent(ReferralId);

/// <summary>The prospect's contact details were erased for good: their key is destroyed, so no copy can be read again.</summary>
public sealed record ProspectErased(Guid ReferralId, DateTimeOffset ErasedAt) : ReferralEvent(ReferralId);

/// <summary>
/// A closed or thanked referral set right: the receiver or a leader corrects the outcome and value, or the thank-you note,
/// within 30 days of the step corrected, and says why. Nothing is edited: the correction is a step of its own.
/// <see cref="Outcome"/> is set when the closing was corrected, and then <see cref="Value"/> is the closing's value as
/// corrected (none for lost); <see cref="ThankNote"/> is set when the note was.
/// </summary>
public sealed record ReferralCorrected(Guid ReferralId, Guid CorrectedBy, Outcome? Outcome, Money? Value, string? ThankNote, string Reason, DateTimeOffset CorrectedAt)
    : ReferralEvent(ReferralId);

/// <summary>The giver takes back a referral the receiver has not accepted yet (given to the wrong member, or no longer wanted).</summary>
public sealed record ReferralWithdrawn(Guid ReferralId, Guid GiverId, string? Reason, DateTimeOffset WithdrawnAt) : ReferralEvent(ReferralId);

/// <summary>
/// The giver passes a referral not yet accepted to another member: the prospect's consent and details go with it, and the new
/// receiver hears of it as of a referral given to them.
/// </summary>
public sealed record ReferralRedirected(Guid ReferralId, Guid GiverId, Guid FromReceiverId, Guid ToReceiverId, DateTimeOffset RedirectedAt)
    : ReferralEvent(ReferralId);
