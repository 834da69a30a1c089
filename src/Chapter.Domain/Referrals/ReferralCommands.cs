using Chapter.Domain.Shared;

namespace Chapter.Domain.Referrals;

/// <summary>What the decider needs to know of a member named in a command, looked up before deciding.</summary>
public sealed record MemberStanding(Guid MemberId, string ChapterId, bool Active);

public abstract record ReferralCommand(Guid ReferralId, DateTimeOffset Now);

public sealed record GiveReferral(
    Guid ReferralId,
    string ChapterId,
    MemberStanding Giver,
    MemberStanding Receiver,
    bool ProspectConsent,
    string SealedProspect,
    string Need,
    Temperature Temperature,
    string Language,
    DateTimeOffset Now) : ReferralCommand(ReferralId, Now);

/// <summary>A step only the referral's receiver may take.</summary>
public abstract record ReceiverCommand(Guid ReferralId, Guid MemberId, DateTimeOffset Now) : ReferralCommand(ReferralId, Now);

public sealed record AcceptReferral(Guid ReferralId, Guid MemberId, DateTimeOffset Now) : ReceiverCommand(ReferralId, MemberId, Now);

public sealed record DeclineReferral(Guid ReferralId, Guid MemberId, string Reason, DateTimeOffset Now) : ReceiverCommand(ReferralId, MemberId, Now);

public sealed record CloseReferral(Guid ReferralId, Guid MemberId, Outcome Outcome, Money? Value, DateTimeOffset Now) : ReceiverCommand(ReferralId, MemberId, Now);

public sealed record ThankGiver(Guid ReferralId, Guid MemberId, string Note, DateTimeOffset Now) : ReceiverCommand(ReferralId, MemberId, Now);

/// <summary>A prospect asked to be forgotten. The giver may erase their details, and so may a leader of the chapter.</summary>
public sealed record EraseProspect(Guid ReferralId, Guid MemberId, bool MemberLeadsChapter, DateTimeOffset Now) : ReferralCommand(ReferralId, Now);

/// <summary>The giver asks for the introduction e-mail between the prospect and the receiver.</summary>
public sealed record IntroduceReferral(Guid ReferralId, Guid MemberId, string? Line, DateTimeOffset Now) : ReferralCommand(ReferralId, Now);

/// <summary>
/// The receiver or a leader sets a closed or thanked referral right, with a reason. Null fields stay as they are; a value
/// without an outcome corrects the value of the outcome recorded.
/// </summary>
public sealed record CorrectReferral(Guid ReferralId, Guid MemberId, bool MemberLeadsChapter, Outcome? Outcome, Money? Value, string? ThankNote,
    string Reason, DateTimeOffset Now) : ReferralCommand(ReferralId, Now);

/// <summary>The giver takes the referral back while the receiver has not accepted it.</summary>
public sealed record WithdrawReferral(Guid ReferralId, Guid MemberId, string? Reason, DateTimeOffset Now) : ReferralCommand(ReferralId, Now);

/// <summary>The giver passes the referral to another member while the receiver has not accepted it.</summary>
public sealed record RedirectReferral(Guid ReferralId, Guid MemberId, MemberStanding Receiver, DateTimeOffset Now) : ReferralCommand(ReferralId, Now);
