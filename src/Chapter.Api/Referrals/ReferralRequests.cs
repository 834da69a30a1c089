using Chapter.Api.Infrastructure;
using System.ComponentModel.DataAnnotations;
namespace Chapter.Api.Referrals;

// Request shapes are separate from commands: the server adds the ids it owns, the time and the actor.
// Every field is nullable so that a missing one is reported by name rather than as a JSON error.

public sealed record ProspectRequest([property: Required] string? Name, string? Email, string? Phone, string? Company, [property: Required] bool? Consent);

public sealed record GiveReferralRequest(
    Guid? ReferralId, Guid? GiverId, [property: Required] Guid? ReceiverId, [property: Required] ProspectRequest? Prospect, [property: Required] string? Need,
    [property: Required] [property: OneOf(typeof(Chapter.Domain.Referrals.Temperature))] string? Temperature, [property: Required] string? Language);

public sealed record AcceptReferralRequest(Guid? MemberId);

public sealed record DeclineReferralRequest(Guid? MemberId, [property: Required] string? Reason);

public sealed record MoneyRequest([property: Required] decimal? Amount, string? Currency);

public sealed record CloseReferralRequest(Guid? MemberId, [property: Required] [property: OneOf(typeof(Chapter.Domain.Referrals.Outcome))] string? Outcome,
    MoneyRequest? Value);

public sealed record ThankGiverRequest(Guid? MemberId, [property: Required] string? Note);

public sealed record CorrectReferralRequest([property: OneOf(typeof(Chapter.Domain.Referrals.Outcome))] string? Outcome, MoneyRequest? Value,
    string? ThankNote, [property: Required] string? Reason);

public sealed record WithdrawReferralRequest(string? Reason);

public sealed record RedirectReferralRequest([property: Required] Guid? ReceiverId);
