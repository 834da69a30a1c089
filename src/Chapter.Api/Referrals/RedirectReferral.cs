using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.Referrals;
using Chapter.Projections.Members;
using Chapter.Projections.Referrals;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.Referrals;

/// <summary>A class of its own: Wolverine runs a class's Load step before each of its endpoints.</summary>
public static class RedirectReferralEndpoint
{
    public static string StreamKey(Guid referralId) => ReferralSteps.StreamKey(referralId);

    [WolverinePost("/api/chapters/{chapterId}/referrals/{referralId:guid}/redirect", OperationId = "RedirectReferral")]
    [Authorize(Policy = Policies.ChapterMember), Tags("Referrals")]
    [EndpointSummary("The giver passes a referral not yet accepted to another member")]
    [EndpointDescription("Only the giver, while the referral is given: for a receiver who left, or a referral given to the wrong member. " +
        "The prospect's consent and details go with it; the new receiver hears of it as of a new referral. Passing it again to the same member changes nothing.")]
    [ProducesResponseType<ReferralView>(StatusCodes.Status200OK)]
    public static (IResult, Events, OutgoingMessages) Redirect(string chapterId, Guid referralId, [NotBody] MemberStanding receiver,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Referral? referral, TimeProvider clock, Caller caller) =>
        ReferralSteps.Decide(chapterId, referral, new RedirectReferral(referralId, caller.ActingMemberId, receiver, clock.GetUtcNow()), caller);

    /// <summary>The redirect's new receiver, who must be in the chapter (what the decider cannot know).</summary>
    public static async Task<MemberStanding> LoadAsync(string chapterId, RedirectReferralRequest body, ChapterDatabase db, CancellationToken ct)
    {
        var check = new Validation();
        var receiverId = check.RequiredId(body.ReceiverId, "receiverId");
        check.ThrowIfInvalid();
        return await MemberProjection.GetAsync(db, chapterId, receiverId, ct) is { } member
            ? member.Standing
            : throw new RequestRefused(Problems.NotFound("receiverId", $"Member {receiverId} is not in chapter '{chapterId}'."));
    }

}
