using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Api.Notifications;
using Chapter.Domain.Referrals;
using Chapter.Domain.Shared;
using Chapter.Projections.Chapters;
using Chapter.Projections.Prospects;
using Chapter.Projections.Referrals;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.Referrals;

/// <summary>
/// The steps taken on a referral once given: each one function that Wolverine hands the referral's stream (fetched for writing
/// by its key), that asks the decider, and returns the answer, the events and the notices they call for (committed with the
/// events through the outbox). The answer is the referral as its view has it once the events are committed.
/// </summary>
public static class ReferralSteps
{
    public static string StreamKey(Guid referralId) => ReferralDecider.StreamId(referralId);

    [WolverinePost("/api/chapters/{chapterId}/referrals/{referralId:guid}/accept", OperationId = "AcceptReferral")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals"), EndpointSummary("The receiver accepts the referral")]
    [EndpointDescription("Only the receiver, while it is given; the giver hears of it. Accepting again changes nothing.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static (IResult, Events, OutgoingMessages) Accept(string chapterId, Guid referralId, AcceptReferralRequest? body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, TimeProvider clock, Caller caller) =>
        Decide(chapterId, referral, new AcceptReferral(referralId, ActingReceiver(caller, body?.MemberId, new Validation()), clock.GetUtcNow()), caller);

    [WolverinePost("/api/chapters/{chapterId}/referrals/{referralId:guid}/decline", OperationId = "DeclineReferral")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals"), EndpointSummary("The receiver declines the referral, with a reason")]
    [EndpointDescription("Only the receiver, while it is given; the giver hears of it, with the reason. Declining again with the same reason changes nothing.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static (IResult, Events, OutgoingMessages) Decline(string chapterId, Guid referralId, DeclineReferralRequest body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, TimeProvider clock, Caller caller)
    {
        var check = new Validation();
        var reason = check.Text(body.Reason, "reason", Validation.MaxTextLength);
        return Decide(chapterId, referral, new DeclineReferral(referralId, ActingReceiver(caller, body.MemberId, check), reason, clock.GetUtcNow()), caller);
    }

    [WolverinePost("/api/chapters/{chapterId}/referrals/{referralId:guid}/close", OperationId = "CloseReferral")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals")]
    [EndpointSummary("The receiver closes the business: won (with its value) or lost")]
    [EndpointDescription("Only after the referral was accepted. value {amount, currency} is required for won and absent for lost; without a currency, the chapter's currency is used.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static async Task<(IResult, Events, OutgoingMessages)> Close(string chapterId, Guid referralId, CloseReferralRequest body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, ChapterDatabase db, TimeProvider clock,
        Caller caller, CancellationToken ct)
    {
        var check = new Validation();
        var outcome = check.OneOf<Outcome>(body.Outcome, "outcome");
        var value = check.Money(body.Value, "value", await ChapterCurrencyAsync(db, chapterId, body.Value, ct));
        return Decide(chapterId, referral, new CloseReferral(referralId, ActingReceiver(caller, body.MemberId, check), outcome, value, clock.GetUtcNow()), caller);
    }

    [WolverinePost("/api/chapters/{chapterId}/referrals/{referralId:guid}/thank", OperationId = "ThankGiver")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals")]
    [EndpointSummary("The receiver thanks the giver and reports back what came of it")]
    [EndpointDescription("Once, after accepting or closing. The note tells the giver what happened.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static (IResult, Events, OutgoingMessages) Thank(string chapterId, Guid referralId, ThankGiverRequest body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, TimeProvider clock, Caller caller)
    {
        var check = new Validation();
        var note = check.Text(body.Note, "note", Validation.MaxTextLength);
        return Decide(chapterId, referral, new ThankGiver(referralId, ActingReceiver(caller, body.MemberId, check), note, clock.GetUtcNow()), caller);
    }

    [WolverinePost("/api/chapters/{chapterId}/referrals/{referralId:guid}/introduce", OperationId = "IntroduceReferral")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals")]
    [EndpointSummary("The giver has the prospect and the receiver introduced to each other by e-mail, with the giver in copy")]
    [EndpointDescription(
        "Once per referral: a repeat answers 200 and sends nothing, and introducedAt shows when it was asked for. Needs the prospect's " +
        "e-mail address (and their consent), and the receiver's (in their notification settings); the giver is copied when they have one. " +
        "Written in the referral's language; one the service does not write falls back to English, and says so. line: the giver's word to both.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static async Task<(IResult, Events, OutgoingMessages)> Introduce(string chapterId, Guid referralId, IntroduceRequest? body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, ChapterDatabase db, TimeProvider clock,
        Caller caller, CancellationToken ct)
    {
        var check = new Validation();
        var line = check.OptionalText(body?.Line, "line", 500);
        check.ThrowIfInvalid();
        if (await ReferralProjection.GetAsync(db, chapterId, referralId, ct) is not { } view)
            throw new RequestRefused(Problems.NotFound($"Referral {referralId} is not in chapter '{chapterId}'."));
        // What an e-mail needs, checked only when one would go out; who may, and when, is the decider's to say.
        if (view.IntroducedAt is null && view.GiverId == caller.MemberId && view.Prospect is { ErasedAt: null } prospect)
        {
            if (prospect.Email is not { Length: > 0 })
                throw new RequestRefused(Problems.Unprocessable("prospect.email", "The prospect gave no e-mail address to be introduced by."));
            if ((await NotificationSettings.GetAsync(db, chapterId, view.ReceiverId, ct))?.Choices.Email is null)
                throw new RequestRefused(Problems.Unprocessable("receiverId", "The receiver has no e-mail address in their notification settings."));
        }
        return Decide(chapterId, referral, new IntroduceReferral(referralId, caller.ActingMemberId, line, clock.GetUtcNow()), caller);
    }

    [WolverineDelete("/api/chapters/{chapterId}/referrals/{referralId:guid}/prospect", OperationId = "EraseProspect")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals")]
    [EndpointSummary("Erase the prospect's contact details for good (the giver, or a leader)")]
    [EndpointDescription(
        "For a prospect who asks to be forgotten. The details are destroyed, not hidden: their key is deleted, so no event, " +
        "read model, feed or rebuild can show them again; they read \"erased\" from then on. The referral itself stays. Repeating it changes nothing.")]
    [EmptyResponse]
    public static Events EraseProspect(string chapterId, Guid referralId,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, IDocumentSession session,
        TimeProvider clock, Caller caller, ILogger<Referral> logger)
    {
        var events = ReferralDecider.Decide(new EraseProspect(referralId, caller.ActingMemberId, caller.IsLeader, clock.GetUtcNow()),
            referral ?? Referral.Initial);
        // The decider said who may; the key goes in the same transaction as the event that says so. Destroying it again is harmless.
        ProspectKeys.Destroy(session, chapterId, referralId);
        logger.LogInformation("Prospect of referral {ReferralId} in chapter {ChapterId} erased by {Actor}", referralId, chapterId, caller.Actor);
        return [.. events];
    }

    [WolverinePost("/api/chapters/{chapterId}/referrals/{referralId:guid}/correct", OperationId = "CorrectReferral")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals")]
    [EndpointSummary("The receiver or a leader sets a closed or thanked referral right, saying why")]
    [EndpointDescription(
        "Within 30 days of the step corrected: outcome and value (of a closed referral), thankNote (once thanked). A field left out stays " +
        "as it is; a value without an outcome corrects the value of the outcome recorded; lost has no value. reason is required and the " +
        "giver reads it. Nothing is edited: the correction is a step of its own (referral.corrected.v1), shown in the referral's " +
        "corrections, and reports, the feed and webhooks follow it. The same correction again changes nothing.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static async Task<(IResult, Events, OutgoingMessages)> Correct(string chapterId, Guid referralId, CorrectReferralRequest body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, ChapterDatabase db, TimeProvider clock,
        Caller caller, CancellationToken ct)
    {
        var check = new Validation();
        var outcome = body.Outcome is null ? (Outcome?)null : check.OneOf<Outcome>(body.Outcome, "outcome");
        var value = check.Money(body.Value, "value", await ChapterCurrencyAsync(db, chapterId, body.Value, ct));
        var thankNote = body.ThankNote is null ? null : check.Text(body.ThankNote, "thankNote", Validation.MaxTextLength);
        var reason = check.Text(body.Reason, "reason", Validation.MaxTextLength);
        check.ThrowIfInvalid();
        return Decide(chapterId, referral,
            new CorrectReferral(referralId, caller.ActingMemberId, caller.IsLeader, outcome, value, thankNote, reason, clock.GetUtcNow()), caller);
    }

    [WolverinePost("/api/chapters/{chapterId}/referrals/{referralId:guid}/withdraw", OperationId = "WithdrawReferral")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals")]
    [EndpointSummary("The giver takes back a referral the receiver has not accepted")]
    [EndpointDescription("Only the giver, while the referral is given (not accepted, declined or closed). reason is optional and the receiver reads it. " +
        "A withdrawn referral takes no further step and leaves the chapter's figures. Withdrawing again changes nothing.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static (IResult, Events, OutgoingMessages) Withdraw(string chapterId, Guid referralId, WithdrawReferralRequest? body,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, TimeProvider clock, Caller caller)
    {
        var check = new Validation();
        var reason = check.OptionalText(body?.Reason, "reason", Validation.MaxTextLength);
        check.ThrowIfInvalid();
        return Decide(chapterId, referral, new WithdrawReferral(referralId, caller.ActingMemberId, reason, clock.GetUtcNow()), caller);
    }

    /// <summary>The chapter's currency, read only when a value is sent without one.</summary>
    private static async Task<string> ChapterCurrencyAsync(ChapterDatabase db, string chapterId, MoneyRequest? value, CancellationToken ct) =>
        value is { Currency: null } ? (await ChapterProjection.GetAsync(db, chapterId, ct))?.Currency ?? "" : "";

    /// <summary>The member taking a receiver's step: the signed-in one (a memberId in the body must be theirs), once the request is valid.</summary>
    private static Guid ActingReceiver(Caller caller, Guid? claimedMemberId, Validation check)
    {
        if (claimedMemberId is { } claimed && claimed != caller.ActingMemberId)
            throw new RequestRefused(Problems.Forbidden("A member acts as themselves: leave 'memberId' out, or send your own id."));
        check.ThrowIfInvalid();
        return caller.ActingMemberId;
    }

    /// <summary>
    /// Asks the decider (a refusal is thrown, for ProblemMapping), and returns the answer, the events, and the notices.
    /// A referral of another chapter is another tenant's stream: the decider finds none, and says so (404).
    /// </summary>
    internal static (IResult, Events, OutgoingMessages) Decide(string chapterId, Referral? referral, ReferralCommand command, Caller caller)
    {
        var before = referral ?? Referral.Initial;
        var events = ReferralDecider.Decide(command, before);
        return (ReferralAnswer.Read(chapterId, command.ReferralId, caller), [.. events], ReferralNotices.For(before, events));
    }
}

public static class ReferralNotices
{
    /// <summary>What members hear of a referral's new events, given the referral as it was before them.</summary>
    public static OutgoingMessages For(Referral before, IReadOnlyList<object> events)
    {
        var notices = new OutgoingMessages();
        notices.AddRange(ReferralNotice.For(before, events));
        if (before is Referral.Existing { Origin: var origin } existing)
            notices.AddRange(events.OfType<ReferralIntroduced>().Select(i => new IntroductionRequested(origin.ChapterId, i.ReferralId, origin.GiverId, existing.ReceiverId, i.Line)));
        return notices;
    }
}

/// <summary>A referral write's answer: the referral as the caller may see it, with its ETag.</summary>
public static class ReferralAnswer
{
    /// <summary>The referral as its view has it once the request's events are committed.</summary>
    public static AfterCommit<ReferralView> Read(string chapterId, Guid referralId, Caller caller, string? created = null) =>
        AfterCommit.Read(async (db, ct) => ReferralEndpoints.AsSeenBy(caller, (await ReferralProjection.GetAsync(db, chapterId, referralId, ct))!),
            created, WithETag);

    /// <summary>A referral just given, as its view will have it (the giver sees the prospect), without reading it back.</summary>
    public static AfterCommit<ReferralView> Created(string location, ReferralView view) =>
        AfterCommit.Read((_, _) => Task.FromResult(view), location, WithETag);

    private static void WithETag(HttpContext context, ReferralView view) => ReferralEndpoints.WithETag(context, view);
}
