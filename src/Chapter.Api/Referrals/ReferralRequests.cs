namespace Chapter.Api.Referrals;

// Request shapes are separate from commands: the server adds the ids it owns, the time and the actor.
// Every field is nullable so that a missing one is reported by name rather than as a JSON error.

public sealed record ProspectRequest(string? Name, string? Email, string? Phone, string? Company, bool? Consent);

public sealed record GiveReferralRequest(
    Guid? ReferralId, Guid? GiverId, Guid? ReceiverId, ProspectRequest? Prospect, string? Need, string? Temperature, string? Language);

public sealed record AcceptReferralRequest(Guid? MemberId);

public sealed record DeclineReferralRequest(Guid? MemberId, string? Reason);

public sealed record MoneyRequest(decimal? Amount, string? Currency);

public sealed record CloseReferralRequest(Guid? MemberId, string? Outcome, MoneyRequest? Value);

public sealed record ThankGiverRequest(Guid? MemberId, string? Note);

public sealed record CorrectReferralRequest(string? Outcome, MoneyRequest? Value, string? ThankNote, string? Reason);

public sealed record WithdrawReferralRequest(string? Reason);

public sealed record RedirectReferralRequest(Guid? ReceiverId);
