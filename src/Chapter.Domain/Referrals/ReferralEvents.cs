using Chapter.Domain.Shared;

namespace Chapter.Domain.Referrals;

public enum Temperature { Hot, Warm, Cold }

public enum Outcome { Won, Lost }

/// <summary>
/// The person who needs what the receiver sells. <see cref="Consent"/> records that they agreed to be
/// contacted: a prospect is never passed on without permission.
/// </summary>
public sealed record Prospect(string Name, string? Email, string? Phone, string? Company, bool Consent);

public abstract record ReferralEvent(Guid ReferralId);

public sealed record ReferralGiven(
    Guid ReferralId,
    string ChapterId,
    Guid GiverId,
    Guid ReceiverId,
    Prospect Prospect,
    string Need,
    Temperature Temperature,
    string Language,
    DateTimeOffset GivenAt) : ReferralEvent(ReferralId);

public sealed record ReferralAccepted(Guid ReferralId, Guid ReceiverId, DateTimeOffset AcceptedAt) : ReferralEvent(ReferralId);

public sealed record ReferralDeclined(Guid ReferralId, Guid ReceiverId, string Reason, DateTimeOffset DeclinedAt) : ReferralEvent(ReferralId);

public sealed record ReferralClosed(Guid ReferralId, Guid ReceiverId, Outcome Outcome, Money? Value, DateTimeOffset ClosedAt) : ReferralEvent(ReferralId);

/// <summary>The receiver thanks the giver and reports back what came of the introduction.</summary>
public sealed record ReferralThanked(Guid ReferralId, Guid ReceiverId, string Note, DateTimeOffset ThankedAt) : ReferralEvent(ReferralId);
