using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Api.Notifications;
using Chapter.Domain.Members;
using Chapter.Projections.Members;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine;
using Wolverine.Runtime.Handlers;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.Members;

/// <summary>What is still to be forgotten of a member once their erasure is recorded: the log's copies and the service's own rows.</summary>
public sealed record ForgetMember(string ChapterId, Guid MemberId);

/// <summary>
/// A former member forgotten (GDPR art. 17). The erasure is an event in their stream, committed with the views' change
/// ("Former member", no profession, languages or profile) and with a durable message that does the rest: Marten's event
/// masking rewrites the earlier events of the member's stream (the rules are in <c>ChapterEventStore</c>), and the
/// service's own rows that name them (notification address, tokens, sign-in codes) are deleted. The message is retried
/// until that is done; repeating the request sends it again.
/// </summary>
public static class MemberErasure
{
    public static string StreamKey(Guid memberId) => MemberDecider.StreamId(memberId);

    [WolverineDelete("/api/chapters/{chapterId}/members/{memberId:guid}/personal-data", OperationId = "EraseMemberPersonalData")]
    [Authorize(Policy = Policies.ManageChapter), Tags("Members")]
    [EndpointSummary("Forget a member who left: their name, profession, languages, profile, address and tokens (leaders and the operator)")]
    [EndpointDescription(
        "For a member who has left (409 while they are still in the chapter). The answer (202) is the member as everyone reads them from " +
        "now on, named \"Former member\". Moments later (a durable message, retried until done) the earlier events of their stream are " +
        "masked, so neither the feed nor a rebuild shows their details again, and their notification address, tokens and sign-in codes " +
        "are deleted. Reports keep their figures. Integrations hear member.personal-data-erased.v1, to forget their own copies. " +
        "Repeating it changes nothing more.")]
    [ProducesResponseType<MemberView>(StatusCodes.Status202Accepted), BreaksNoRule]
    public static (IResult, Events, OutgoingMessages) Erase(string chapterId, Guid memberId,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] Member? member, TimeProvider clock)
    {
        var events = MemberDecider.Decide(new EraseMemberPersonalData(memberId, clock.GetUtcNow()), member ?? Member.Initial);
        return (AfterCommit.Accepted((db, ct) => MemberProjection.GetAsync(db, chapterId, memberId, ct)), [.. events],
            [new ForgetMember(chapterId, memberId)]);
    }
}

public static class ForgetMemberHandler
{
    public static void Configure(HandlerChain chain) => NotificationRegistration.WaitOutTheDatabase(chain);

    public static async Task HandleAsync(ForgetMember forget, IDocumentStore store, ChapterDatabases databases, ILogger<ForgetMember> logger, CancellationToken ct)
    {
        var db = await databases.ForChapterAsync(forget.ChapterId);
        await store.Advanced.ApplyEventDataMasking(masking => masking
            .IncludeStream(MemberDecider.StreamId(forget.MemberId))
            .ForTenant(forget.ChapterId), ct);

        // Their address is in their chapter's database; their tokens and sign-in codes in the main one (the same, with one database).
        await DeleteRowsAsync(db, ["notification_settings"], forget, ct);
        await DeleteRowsAsync(databases.Main, ["access_tokens", "sign_in_codes"], forget, ct);
        logger.LogInformation("Forgot member {MemberId} of chapter {ChapterId}: their events masked, their address and tokens deleted",
            forget.MemberId, forget.ChapterId);
    }

    private static async Task DeleteRowsAsync(ChapterDatabase db, string[] tables, ForgetMember forget, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        foreach (var table in tables)
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"DELETE FROM {table} WHERE chapter_id = $1 AND member_id = $2")
            {
                Parameters = { new NpgsqlParameter { Value = forget.ChapterId }, new NpgsqlParameter { Value = forget.MemberId } },
            });
        await batch.ExecuteNonQueryAsync(ct);
    }
}
