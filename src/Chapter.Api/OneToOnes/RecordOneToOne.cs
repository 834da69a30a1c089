using System.ComponentModel.DataAnnotations;
using Chapter.Api.Access;
using Chapter.Api.Infrastructure;
using Chapter.Domain.OneToOnes;
using Chapter.Projections.Chapters;
using Chapter.Projections.Members;
using Chapter.Projections.OneToOnes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using Wolverine.Http;
using Wolverine.Marten;

namespace Chapter.Api.OneToOnes;

public sealed record RecordOneToOneRequest(Guid? Id, [property: Required] Guid? MemberA, [property: Required] Guid? MemberB, [property: Required] DateOnly? Date, string? Note);

public static class RecordOneToOneEndpoint
{
    public static string StreamKey(RecordOneToOne command) => OneToOneDecider.StreamId(command.OneToOneId);

    /// <summary>What the decider cannot know: the request's fields, who may record it, and that both members are the chapter's.</summary>
    public static async Task<RecordOneToOne> LoadAsync(
        string chapterId, RecordOneToOneRequest body, ChapterDatabase db, TimeProvider clock, Caller caller, CancellationToken ct)
    {
        var check = new Validation();
        if (body.Id == Guid.Empty)
            check.Add("id", "'id' must be a non-empty UUID, or left out for the server to choose one.");
        var memberA = check.RequiredId(body.MemberA, "memberA");
        var memberB = check.RequiredId(body.MemberB, "memberB");
        var date = check.Required(body.Date, "date");
        var note = check.OptionalText(body.Note, "note", Validation.MaxTextLength);
        check.ThrowIfInvalid();
        if (!caller.IsLeader && caller.ActingMemberId != memberA && caller.ActingMemberId != memberB)
            throw new RequestRefused(Problems.Forbidden("A member records the one-to-ones they took part in."));
        if (await ChapterProjection.GetAsync(db, chapterId, ct) is not { } chapter)
            throw new RequestRefused(Problems.NotFound($"Chapter '{chapterId}' does not exist."));
        if (await MemberProjection.GetAsync(db, chapterId, memberA, ct) is not { } a)
            throw new RequestRefused(Problems.NotFound("memberA", $"Member {memberA} is not in chapter '{chapterId}'."));
        if (await MemberProjection.GetAsync(db, chapterId, memberB, ct) is not { } b)
            throw new RequestRefused(Problems.NotFound("memberB", $"Member {memberB} is not in chapter '{chapterId}'."));

        var now = clock.GetUtcNow();
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(chapter.TimeZone)).DateTime);
        return new RecordOneToOne(body.Id ?? Guid.CreateVersion7(), chapterId, a.Standing, b.Standing, date, note, today, now);
    }

    [WolverinePost("/api/chapters/{chapterId}/one-to-ones/", OperationId = "RecordOneToOne")]
    [Authorize(Policy = Policies.ChapterMember)]
    [Tags("One-to-ones")]
    [EndpointSummary("Record a one-to-one two members held")]
    [EndpointDescription("date is the day it was held (YYYY-MM-DD, not in the future in the chapter's time zone). An optional client id makes retries safe. One-to-ones count toward tie strength. " +
        "A member records the one-to-ones they took part in; a leader may record any.")]
    [ProducesResponseType<OneToOneView>(StatusCodes.Status201Created)]
    [ProducesResponseType<OneToOneView>(StatusCodes.Status200OK)]
    public static (IResult, Events) Post([NotBody] RecordOneToOne command,
        [WriteAggregate(FromMethod = nameof(StreamKey), Required = false)] OneToOne? oneToOne)
    {
        var events = OneToOneDecider.Decide(command, oneToOne ?? OneToOne.Initial);
        var view = new OneToOneView(command.OneToOneId, command.MemberA.MemberId, command.MemberB.MemberId, command.Date, command.Note);
        return (events.Length > 0 ? TypedResults.Created($"/api/chapters/{command.ChapterId}/one-to-ones/{command.OneToOneId}", view) : TypedResults.Ok(view),
            [.. events]);
    }
}
