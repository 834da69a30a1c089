using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.OneToOnes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.OneToOnes;

public static class WithdrawOneToOneEndpoint
{
    public static string StreamKey(Guid oneToOneId) => OneToOneDecider.StreamId(oneToOneId);

    [WolverineDelete("/api/chapters/{chapterId}/one-to-ones/{oneToOneId:guid}", OperationId = "WithdrawOneToOne")]
    [Authorize(Policy = Policies.ChapterMember), Tags("One-to-ones")]
    [EndpointSummary("Take back a one-to-one recorded by mistake")]
    [EndpointDescription("Either of the two members, or a leader, within 7 days of recording it (409 after). It no longer counts toward ties, " +
        "suggestions or reports; the log keeps that it was recorded and withdrawn (one-to-one.withdrawn.v1). Withdrawing again changes nothing.")]
    [EmptyResponse]
    public static Events Delete(string chapterId, Guid oneToOneId,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] OneToOne? oneToOne, TimeProvider clock, Caller caller) =>
        // A one-to-one of another chapter is another tenant's stream: the decider finds none (404).
        [.. OneToOneDecider.Decide(new WithdrawOneToOne(oneToOneId, caller.ActingMemberId, caller.IsLeader, clock.GetUtcNow()), oneToOne ?? OneToOne.Initial)];
}
